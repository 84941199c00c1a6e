"""Whether an exception means no database connection was to be had, for a request or a task.

Either this process's pool had none free within DATABASE_POOL_TIMEOUT_SECONDS (PoolTimeout),
or PostgreSQL refused a new one (too many clients). The answer to it (503 with Retry-After) is
okto88.unavailable's; the API's exception handler asks this too, and leaves such an error to
that middleware."""

from __future__ import annotations

from django.db import OperationalError as DjangoOperationalError
from psycopg import OperationalError as PsycopgOperationalError
from psycopg_pool import PoolTimeout

# SQLSTATE too_many_connections, and how the server says it before a session exists.
_TOO_MANY_CONNECTIONS = "53300"
_REFUSALS = ("too many clients", "remaining connection slots are reserved", "too many connections")


def database_unavailable(exc: BaseException | None) -> bool:
    """True if `exc` (or what it was raised from) means no database connection was to be had."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, PoolTimeout):
            return True
        if isinstance(exc, (DjangoOperationalError, PsycopgOperationalError)):
            if getattr(exc, "sqlstate", None) == _TOO_MANY_CONNECTIONS:
                return True
            if any(refusal in str(exc).lower() for refusal in _REFUSALS):
                return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
