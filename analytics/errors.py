"""The operations view's domain errors (see okto88.errors for the rules every error follows)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from okto88.errors import ApplicationError


class InvalidOpsPeriod(ApplicationError):
    code = "invalid_period"
    title = gettext_lazy("The period is not valid.")


class InvalidOpsParameter(ApplicationError):
    code = "invalid_parameter"
    title = gettext_lazy("A parameter is not valid.")


class OpsNotForPartners(ApplicationError):
    """ops:read shows every supplier's and workshop's figures: never to a key acting for one."""

    code = "insufficient_scope"
    status = 403
    title = gettext_lazy("Keys acting for a supplier or a workshop cannot read the operations figures.")
