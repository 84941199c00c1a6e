"""`manage.py api_key_issue --client NAME --scopes a,b [--supplier ID | --workshop ID]`.

Issues an API key for operators who script their setup: stdout carries the new key and nothing
else (it is shown once, never stored), so `KEY=$(manage.py api_key_issue ...)` works; what the
command did besides goes to stderr. `--scopes all` grants every scope the API knows (but
ops:read to a client acting for a supplier or workshop: it reads every one's figures);
`--list-scopes` prints them, one a line. The client is created if new, and `--supplier` or
`--workshop` lets it act for that supplier or workshop (a workshop's key orders for it through
the cart and orders API). Every refusal is a CommandError (exit status 1) that names what is wrong.

It lives in orders, the lowest app that may import both suppliers and workshops; the binding
and its rule (one supplier or one workshop, never both) are orders.services.api_client_bind's.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from okto88.errors import ApplicationError
from okto88.models import Scope
from okto88.services import api_client_ensure, api_key_issue
from orders import services

ALL_SCOPES = "all"


class Command(BaseCommand):
    help = "Issue an API key for a partner client and print it (only the key) on stdout."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--client", help="the partner API client's name; created if new")
        parser.add_argument("--scopes", help=f"comma-separated scopes, or '{ALL_SCOPES}' (see --list-scopes)")
        parser.add_argument("--supplier", help="id of the supplier the client acts for")
        parser.add_argument("--workshop", help="id of the workshop the client acts for")
        parser.add_argument("--name", default="", help="the key's name (default: issued by api_key_issue)")
        parser.add_argument("--list-scopes", action="store_true", help="print every scope the API knows and stop")

    def handle(self, *args, **options) -> None:
        if options["list_scopes"]:
            for scope in Scope.values:
                self.stdout.write(scope)
            return
        client_name = (options["client"] or "").strip()
        if not client_name:
            raise CommandError("--client NAME is required: the partner API client the key is for.")
        scopes = self._scopes(options["scopes"])
        if options["supplier"] and options["workshop"]:
            raise CommandError("Give --supplier or --workshop, not both: a client acts for one of them.")
        try:
            with transaction.atomic():  # the client, its binding and the key, or nothing
                client = api_client_ensure(name=client_name)
                if options["supplier"]:
                    services.api_client_bind(api_client=client, supplier_id=options["supplier"])
                elif options["workshop"]:
                    services.api_client_bind(api_client=client, workshop_id=options["workshop"])
                if options["scopes"].strip() == ALL_SCOPES and services.api_client_acts_for_partner(api_client=client):
                    scopes = [scope for scope in scopes if scope not in services.OPERATOR_ONLY_SCOPES]
                services.api_client_scopes_check(api_client=client, scopes=scopes)
                issued = api_key_issue(client=client, name=options["name"] or "issued by api_key_issue",
                                       scopes=scopes, actor="manage.py api_key_issue")
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        self.stdout.write(issued.raw_key)
        bound = (f", acting for supplier {options['supplier']}" if options["supplier"]
                 else f", acting for workshop {options['workshop']}" if options["workshop"] else "")
        self.stderr.write(f"Issued key {issued.api_key.prefix} for client {client.name!r} "
                          f"with scopes {', '.join(issued.api_key.scopes)}{bound}.")

    @staticmethod
    def _scopes(value: str | None) -> list[str]:
        names = [name.strip() for name in (value or "").split(",") if name.strip()]
        if not names:
            raise CommandError(f"--scopes is required: a comma-separated list or '{ALL_SCOPES}' (see --list-scopes).")
        if names == [ALL_SCOPES]:
            return list(Scope.values)
        unknown = sorted(set(names) - set(Scope.values))
        if unknown:
            raise CommandError(f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(Scope.values)}.")
        return names
