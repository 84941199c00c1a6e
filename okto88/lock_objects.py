"""Row locks for platform data. Must run inside a transaction."""

from __future__ import annotations

from okto88.models import ApiClient


def api_client_lock(*, api_client_id: int) -> ApiClient:
    """Lock one API client row (FOR UPDATE) and return it fresh: taken before binding the client
    to a supplier or a workshop, so two bindings of one client queue instead of both passing the
    check that it acts for nobody else."""
    return ApiClient.objects.select_for_update().get(pk=api_client_id)
