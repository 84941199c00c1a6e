"""The read-model check as the tests run it: after the demo load, every supplier feed test, every
catalog import test and the benchmark generators, every read model equals a recomputation
from its source tables (analytics.read_models.read_models_check, as `manage.py
check_read_models` runs it)."""

from __future__ import annotations

import pytest

from analytics.read_models import read_models_check


def assert_read_models_exact() -> None:
    checks = read_models_check()
    assert checks and all(check.ok for check in checks), "\n".join(str(check) for check in checks if not check.ok)


def read_models_checked_after(request: pytest.FixtureRequest):
    """Body of an autouse fixture (`yield from read_models_checked_after(request)`): after a
    test that used the database, every read model must be exact. The test's database fixture
    is set up from here, so it is still open when the check runs."""
    marker = request.node.get_closest_marker("django_db")
    names = request.fixturenames
    if marker is None and not {"db", "transactional_db"} & set(names):
        yield
        return
    transactional = "transactional_db" in names or (marker is not None and marker.kwargs.get("transaction"))
    request.getfixturevalue("transactional_db" if transactional else "db")
    yield
    assert_read_models_exact()
