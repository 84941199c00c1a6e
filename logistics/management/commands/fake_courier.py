"""Serve the fake courier aggregator for development: `manage.py fake_courier --port 8402`."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from logistics.fake_courier import start_fake_courier


class Command(BaseCommand):
    help = "Run the project's fake courier (rates, bookings, signed tracking callbacks) over HTTP."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8402)
        parser.add_argument("--auto-advance", type=float, default=0.0, metavar="SECONDS",
                            help="move every booked shipment one step towards delivered every SECONDS (demo)")

    def handle(self, *args, host: str, port: int, auto_advance: float, **options) -> None:
        server = start_fake_courier(host=host, port=port, api_key=settings.COURIER_API_KEY,
                                    webhook_secret=settings.COURIER_WEBHOOK_SECRET)
        if auto_advance > 0:
            server.auto_advance(auto_advance)
        self.stdout.write(f"fake courier at {server.url}; callbacks signed with COURIER_WEBHOOK_SECRET"
                          + (f"; auto-advance every {auto_advance:g}s" if auto_advance > 0 else ""))
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
