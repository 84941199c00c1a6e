"""Row locks for platform data. Must run inside a transaction."""

from __future__ import annotations

from okto88.models import ApiClient, ApiKey


def api_client_lock(*, api_client_id: int) -> ApiClient:
    """Lock one API client row (FOR UPDATE) and return it fresh: taken before binding the client
    to a supplier or a workshop, so two bindings of one client queue instead of both passing the
    check that it acts for nobody else."""
    return ApiClient.objects.select_for_update().get(pk=api_client_id)


def api_key_lock(*, api_key_id: int) -> ApiKey:
    """Lock one API key row (FOR UPDATE), with its client, and return it fresh: a rotation holds
    it so that two rotations of one key cannot both issue a successor."""
    return ApiKey.objects.select_for_update(of=("self",)).select_related("client").get(pk=api_key_id)
