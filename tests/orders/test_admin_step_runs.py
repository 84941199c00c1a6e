"""Step runs in admin: durations to the millisecond, and every order linked to its timeline
in the operations view."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.orders.factories import order_row_make, step_run_make
from tests.platform.factories import OperatorFactory

pytestmark = pytest.mark.django_db


def test_step_runs_show_wait_and_run_to_the_millisecond_and_link_the_order_timeline(client):
    order = order_row_make(status="paid")
    step_run_make(order=order, step="commit_stock", started_at=order.created_at + dt.timedelta(seconds=1),
                  wait_ms=12.5, run_ms=1234.5)
    client.force_login(OperatorFactory())

    listing = client.get("/admin/orders/steprun/").content.decode()
    assert "12.5 ms" in listing and "1,234.5 ms" in listing
    assert f'href="/ops/orders/{order.number}/"' in listing
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert f'href="/ops/orders/{order.number}/"' in page
