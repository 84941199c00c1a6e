"""`manage.py check_read_models`: recompute every read model from scratch and compare it with
what is stored (best offers of parts, facet counts per variant, search documents and search texts
of parts, stock against its ledger, sales figures per day). One line per read model, OK or its differences with a few
examples. Exit status 0 when every one is exact, 1 when any differs. Reads only.

Lives in analytics, the top app, which sees every app's read models (analytics.read_models)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analytics.read_models import read_models_check


class Command(BaseCommand):
    help = "Check that every read model equals a recomputation from its source tables."

    def handle(self, *args, **options):
        checks = read_models_check()
        for check in checks:
            style = self.style.SUCCESS if check.ok else self.style.ERROR
            self.stdout.write(style(str(check)))
        inexact = [check.name for check in checks if not check.ok]
        if inexact:
            raise CommandError(f"{len(inexact)} of {len(checks)} read models differ: {', '.join(inexact)}",
                               returncode=1)
