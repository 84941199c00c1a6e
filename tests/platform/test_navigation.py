"""The main navigation marks the entry the reader is in: the page itself, or a page under it."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.platform.factories import OperatorFactory

pytestmark = pytest.mark.django_db

CURRENT = re.compile(r'<a href="([^"]+)" aria-current="(page|true)">')


def current_entries(client, path) -> list[tuple[str, str]]:
    page = client.get(path).content.decode()
    nav = page[page.index('id="mainnav"'):page.index("mainnav__account")]
    return CURRENT.findall(nav)


def test_the_analytics_entry_is_current_on_every_ops_page():
    client = Client()
    client.force_login(OperatorFactory())
    assert current_entries(client, "/ops/") == [("/ops/", "page")]
    assert current_entries(client, "/ops/workflow/") == [("/ops/", "true")]
    assert current_entries(client, "/ops/stalled/") == [("/ops/", "true")]
    assert current_entries(client, "/") == []
