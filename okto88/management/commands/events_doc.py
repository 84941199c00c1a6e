from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from okto88.events import events_markdown


class Command(BaseCommand):
    help = "Write docs/events.md from the event contract (every topic's version, payload, producer, consumers)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--check", action="store_true", help="Fail if docs/events.md is not up to date.")

    def handle(self, *args, check: bool = False, **options) -> None:
        path = Path(settings.BASE_DIR) / "docs" / "events.md"
        text = events_markdown()
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                raise SystemExit("docs/events.md is out of date: run `manage.py events_doc`")
            return
        path.write_text(text, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"wrote {path.relative_to(settings.BASE_DIR)}"))
