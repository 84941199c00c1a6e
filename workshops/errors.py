"""Workshop domain errors: members, addresses and the customer vehicles of a workshop.

Codes are stable; see okto88.errors for the rules every error follows.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from okto88.errors import ApiClientActsElsewhere, Conflict, NotFound, PermissionDenied


class NoWorkshop(PermissionDenied):
    code = "no_workshop"
    title = gettext_lazy("This caller is not a member of a workshop.")


class AddressNotFound(NotFound):
    code = "address_not_found"
    title = gettext_lazy("No such address.")


class DuplicatePlate(Conflict):
    code = "duplicate_plate"
    title = gettext_lazy("This workshop already has a vehicle with this plate number.")


class UnknownWorkshop(NotFound):
    code = "unknown_workshop"
    title = gettext_lazy("No such workshop.")


class ApiClientBoundElsewhere(ApiClientActsElsewhere):
    title = gettext_lazy("This API client already acts for another workshop.")
