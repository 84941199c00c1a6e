from __future__ import annotations

from django.core.management.base import BaseCommand

from okto88.demo import demo_load_all


class Command(BaseCommand):
    help = "Load the demo data (idempotent): accounts, vehicles, catalog, suppliers, workshops."

    def handle(self, *args, **options) -> None:
        for line in demo_load_all():
            self.stdout.write(f"  {line}")
        self.stdout.write(self.style.SUCCESS("demo data loaded"))
