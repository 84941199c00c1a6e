"""`manage.py catalog_import --kind parts parts.csv`: validate, then import all rows or none.

Exit status 0 when the file was imported (or, with --dry-run, would be), 1 when rows were
rejected (the report lists each: row, column, reason), 2 when the file itself is unreadable.
The progress bar goes to stderr so stdout stays a clean report.
"""

from __future__ import annotations

import json
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from catalog.errors import CatalogImportFileError
from catalog.imports import COLUMNS, ImportReport, catalog_import

STAGES = {"validate": "validating", "write": "writing", "events": "events"}


class ProgressBar:
    """`[#####-----]  12,000/200,000 rows  8,512 rows/s  validating` on one stderr line."""

    def __init__(self, stream, *, width: int = 30, interval: float = 0.2):
        self.stream, self.width, self.interval = stream, width, interval
        self.started = self.last = time.monotonic()
        self.stage = None
        self.stage_started = self.started
        self.tty = getattr(stream, "isatty", lambda: False)()

    def __call__(self, *, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != self.stage:
            if self.stage is not None:
                self.stream.write("\n")
            self.stage, self.stage_started = stage, now
        elif done < total and now - self.last < (self.interval if self.tty else 5.0):
            return
        self.last = now
        filled = int(self.width * done / total) if total else self.width
        rate = done / max(now - self.stage_started, 1e-6)
        line = (f"[{'#' * filled}{'-' * (self.width - filled)}] {done:>9,}/{total:,} rows "
                f"{rate:>9,.0f} rows/s  {STAGES.get(stage, stage)}")
        self.stream.write(("\r" if self.tty else "") + line + ("" if self.tty else "\n"))
        self.stream.flush()

    def close(self) -> None:
        if self.stage is not None and self.tty:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = "Import parts, cross references or fitment from a UTF-8 CSV file: all rows or none."

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file (UTF-8, header on the first line)")
        columns = "; ".join(f"{kind}: {','.join(r + o)}" for kind, (r, o) in COLUMNS.items())
        parser.add_argument("--kind", required=True, choices=list(COLUMNS),
                            help=f"what the file holds ({columns})")
        parser.add_argument("--dry-run", action="store_true", help="validate only, write nothing")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print the report as JSON")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    def handle(self, *args, path: str, kind: str, dry_run: bool, as_json: bool,
               no_progress: bool, **options) -> None:
        progress = None if no_progress else ProgressBar(sys.stderr)
        try:
            with open(path, "rb") as file:
                report = catalog_import(kind=kind, file=file, progress=progress, dry_run=dry_run)
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {path}", returncode=2) from exc
        except CatalogImportFileError as exc:
            raise CommandError(f"{path}: {exc.message} [{exc.code}]", returncode=2) from exc
        finally:
            if progress is not None:
                progress.close()
        self._print(report, as_json=as_json)
        if not report.ok:
            raise CommandError(
                f"{report.rejected_rows} of {report.total_rows} rows rejected; "
                "nothing was imported.",
                returncode=1,
            )

    def _print(self, report: ImportReport, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
            return
        if report.errors:
            self.stdout.write("row\tcolumn\tcode\tmessage")
            for error in report.errors:
                self.stdout.write(f"{error.row}\t{error.column}\t{error.code}\t{error.message}")
            return
        verb = "would import" if report.dry_run else "imported"
        summary = (f"{report.kind}: {report.total_rows:,} rows {verb} in {report.seconds:.1f}s"
                   if report.dry_run else
                   f"{report.kind}: {report.total_rows:,} rows {verb} in {report.seconds:.1f}s — "
                   f"{report.created:,} created, {report.updated:,} updated, "
                   f"{report.unchanged:,} unchanged; {report.events:,} part events")
        self.stdout.write(self.style.SUCCESS(summary))
