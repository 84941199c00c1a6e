"""`manage.py fake_gateway --port 8401`: the fake payment gateway for development (make run)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from payments.fake_gateway import FakeGatewayServer


class Command(BaseCommand):
    help = "Serve the fake payment gateway (Midtrans-style Core API, pay-now pages, fault injection)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8401)
        parser.add_argument("--server-key", default=None, help="default: settings.PAYMENT_GATEWAY_SERVER_KEY")

    def handle(self, *args, host: str, port: int, server_key: str | None, **options) -> None:
        server = FakeGatewayServer(host=host, port=port, server_key=server_key or settings.PAYMENT_GATEWAY_SERVER_KEY,
                                   quiet=False)
        self.stdout.write(f"fake payment gateway at {server.url}  (pay page: {server.url}/pay/<order number>)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
