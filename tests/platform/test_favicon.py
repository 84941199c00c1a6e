"""Browsers and the admin ask for /favicon.ico: it leads to the icon, not to a 404 in every log."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_icon_the_pages_declare(client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 301
    assert answer["Location"].endswith("img/favicon.svg")
    page = client.get("/accounts/login/")
    assert 'rel="icon"' in page.content.decode() and answer["Location"] in page.content.decode()
