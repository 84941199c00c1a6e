"""Serve the fake partner receiver for development: `manage.py fake_receiver --port 8403`."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from partners.fake_receiver import start_fake_receiver


class Command(BaseCommand):
    help = "Run the project's fake webhook receiver (verifies, records, fault injection) over HTTP."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8403)

    def handle(self, *args, host: str, port: int, **options) -> None:
        server = start_fake_receiver(host=host, port=port)
        self.stdout.write(f"fake webhook receiver at {server.url}/hooks/<name>; "
                          f"set a name's secrets with POST {server.url}/_config/<name>")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
