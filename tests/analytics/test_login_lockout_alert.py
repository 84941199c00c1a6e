"""A login lockout (okto88/login_lockout.py, django-axes) raises one security alert for the
address, deduplicated while it stays open."""

from __future__ import annotations

import pytest
from django.test import Client

from analytics.models import SecurityAlert
from tests.platform.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.LOGIN_LOCKOUT_ACCOUNT_FAILURES = 5
    settings.LOGIN_LOCKOUT_ADDRESS_FAILURES = 20


def test_an_account_locked_by_wrong_passwords_raises_one_login_lockout_alert():
    user = UserFactory(email="kasir@bengkel.test")
    client = Client(REMOTE_ADDR="198.51.100.23")
    for _ in range(4):
        client.post("/accounts/login/", {"username": user.email, "password": "wrong"})
    assert not SecurityAlert.objects.filter(detector="login_lockout").exists()

    client.post("/accounts/login/", {"username": user.email, "password": "wrong"})
    for _ in range(3):  # refused while locked: no second alert
        assert client.post("/accounts/login/", {"username": user.email, "password": "wrong"}).status_code == 429

    alert = SecurityAlert.objects.get(detector="login_lockout")
    assert alert.ident == "ip:198.51.100.23"
    assert alert.status == "open" and alert.mode == "enforce"
    assert alert.details["account"] == user.email
    assert "wrong" not in str(alert.details)
