"""/metrics answers only with the scrape token or to an allowed address (docs/security.md,
"Transport and exposure"): the business figures it carries are not for anyone on the Internet."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789-abcdefghijklmnop"
FIGURE = "okto88_http_requests_total"


def scrape(client, *, address: str = "127.0.0.1", **headers):
    return client.get("/metrics", REMOTE_ADDR=address, **headers)


def assert_refused(response):
    assert response.status_code == 403
    assert FIGURE not in response.content.decode() and b"okto88_" not in response.content


def test_loopback_may_scrape_by_default(client):
    """`make run` and a Prometheus beside the web process scrape without a token."""
    client.get("/")
    for address in ("127.0.0.1", "127.8.9.10", "::1"):
        response = scrape(client, address=address)
        assert response.status_code == 200, address
        assert FIGURE in response.content.decode()


@pytest.mark.parametrize("address", ["203.0.113.7", "10.0.0.5", "2001:db8::1", "::ffff:203.0.113.7"])
def test_any_other_address_is_refused_without_a_figure(client, address):
    assert_refused(scrape(client, address=address))


@override_settings(METRICS_TOKEN=TOKEN)
def test_the_scrape_token_opens_it_from_anywhere(client):
    response = scrape(client, address="203.0.113.7", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200 and FIGURE in response.content.decode()


@override_settings(METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize("authorization", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", "Bearer ",
                                           TOKEN])
def test_a_wrong_token_is_refused_even_from_loopback(client, authorization):
    assert_refused(scrape(client, address="127.0.0.1", HTTP_AUTHORIZATION=authorization))


def test_without_a_configured_token_no_bearer_opens_it(client):
    assert settings.METRICS_TOKEN is None
    assert_refused(scrape(client, address="203.0.113.7", HTTP_AUTHORIZATION="Bearer "))
    assert_refused(scrape(client, address="203.0.113.7", HTTP_AUTHORIZATION="Bearer None"))


@override_settings(METRICS_ALLOWED_NETWORKS=["10.20.0.0/16", "fd00::/8"])
def test_configured_networks_replace_the_default(client):
    assert scrape(client, address="10.20.3.4").status_code == 200
    assert scrape(client, address="fd00::17").status_code == 200
    assert_refused(scrape(client, address="10.21.0.1"))
    assert_refused(scrape(client, address="127.0.0.1"))  # loopback is in the default only


def test_a_forwarded_address_is_believed_only_behind_a_trusted_proxy(client):
    """The API's rule (okto88.api.rate_windows.client_address): X-Forwarded-For counts only with API_NUM_PROXIES."""
    # No proxy configured: the caller's own X-Forwarded-For is ignored, in both directions.
    assert_refused(scrape(client, address="203.0.113.7", HTTP_X_FORWARDED_FOR="127.0.0.1"))
    assert scrape(client, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 200

    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}):
        # Behind one proxy (which connects from loopback): the address it forwards is the client's.
        assert_refused(scrape(client, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7"))
        # A client cannot prepend an address of its own choosing: the proxy's entry is the last one.
        assert_refused(scrape(client, address="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.7"))
        assert scrape(client, address="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200
        assert_refused(scrape(client, address="127.0.0.1", HTTP_X_FORWARDED_FOR="not-an-address"))
