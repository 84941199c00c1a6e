"""The parts pages show each offer's delivery cost: these tests ask the session's fake courier
(tests.fakes.courier_for_pages)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _courier(courier_for_pages):
    yield
