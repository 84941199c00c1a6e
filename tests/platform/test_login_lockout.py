"""Login lockout by account and by address on every login form, its cool-off, and the bounds on
password reset (okto88/login_lockout.py). Driven from the outside: the live server over HTTP
for credential stuffing, the test client with REMOTE_ADDR for the rest."""

from __future__ import annotations

import re
import time

import pytest
import requests
from django.core import mail
from django.test import Client

from okto88.redis_connection import redis_client
from tests.analytics.test_translations import _messages
from tests.platform.factories import OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret-Passw0rd"
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.LOGIN_LOCKOUT_ACCOUNT_FAILURES = 5
    settings.LOGIN_LOCKOUT_ADDRESS_FAILURES = 20
    settings.LOGIN_LOCKOUT_COOLOFF_SECONDS = 900
    settings.PASSWORD_RESET_REQUESTS_PER_EMAIL = 3
    settings.PASSWORD_RESET_REQUESTS_PER_ADDRESS = 10
    settings.PASSWORD_RESET_LINK_FAILURES_PER_ADDRESS = 10


def _client(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def _login(client: Client, email: str, password: str, path: str = LOGIN):
    return client.post(path, {"username": email, "password": password})


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- Credential stuffing from outside, on the live server -------------------------------------

class _Browser:
    """One address talking to the live server (behind the trusted proxy that names it)."""

    def __init__(self, base_url: str, address: str):
        self.base_url, self.http = base_url, requests.Session()
        self.http.headers["X-Forwarded-For"] = address

    def login(self, email: str, password: str) -> requests.Response:
        self.http.get(f"{self.base_url}{LOGIN}", timeout=10)
        return self.http.post(f"{self.base_url}{LOGIN}", timeout=10, allow_redirects=False, data={
            "username": email, "password": password, "csrfmiddlewaretoken": self.http.cookies["csrftoken"]})


def test_credential_stuffing_locks_the_address_and_another_address_still_logs_in(live_server, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    untouched = UserFactory(email="untouched@bengkel.co.id")
    victims = [UserFactory() for _ in range(5)]
    stuffer = _Browser(live_server.url, "203.0.113.66")
    started = time.monotonic()

    # 20 failures over many accounts (4 guesses each: no account reaches its own limit of 5).
    answers = [stuffer.login(victim.email, f"Guess-{n}").status_code for n in range(4) for victim in victims]

    assert answers[:19] == [200] * 19  # the form again, with its error
    assert answers[19] == 429  # the 20th failure locks the address
    refused = stuffer.login(untouched.email, PASSWORD)  # even the right password of an untouched account
    assert refused.status_code == 429
    assert "Terlalu banyak percobaan" in refused.text and "15 menit" in refused.text
    assert "sessionid" not in refused.cookies
    assert int(refused.headers["Retry-After"]) > 800
    # Another address is not held up, and the stuffed accounts are not locked (4 < 5 each).
    assert _Browser(live_server.url, "198.51.100.7").login(untouched.email, PASSWORD).status_code == 302
    assert _Browser(live_server.url, "198.51.100.8").login(victims[0].email, PASSWORD).status_code == 302
    assert time.monotonic() - started < 60


def test_without_a_trusted_proxy_a_forwarded_address_is_not_believed(live_server):
    user = UserFactory()
    for n in range(20):  # each claims another address; all come from 127.0.0.1
        _Browser(live_server.url, f"192.0.2.{n}").login(f"nobody{n}@example.co.id", "wrong")
    assert _Browser(live_server.url, "192.0.2.200").login(user.email, PASSWORD).status_code == 429


# --- The account ---------------------------------------------------------------------------------

def test_wrong_passwords_for_one_account_from_many_addresses_lock_the_account():
    user = UserFactory(email="budi@bengkel.co.id")
    answers = [_login(_client(f"10.0.0.{n}"), "Budi@Bengkel.co.id " if n % 2 else user.email, "wrong").status_code
               for n in range(5)]
    assert answers == [200, 200, 200, 200, 429]
    fresh = _client("10.0.1.1")
    response = _login(fresh, user.email, PASSWORD)  # the right password, a fresh address
    assert response.status_code == 429
    assert not _logged_in(fresh)
    # Other accounts from those addresses are not held up.
    other = UserFactory()
    assert _login(_client("10.0.0.1"), other.email, PASSWORD).status_code == 302


def test_an_unknown_account_locks_like_a_known_one():
    answers = [_login(_client("10.0.2.1"), "nobody@bengkel.co.id", "wrong").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]


def test_a_login_clears_the_accounts_failures_but_not_the_addresss():
    user = UserFactory()
    client = _client("10.0.3.1")
    for _ in range(4):
        _login(client, user.email, "wrong")
    assert _login(client, user.email, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(4):  # 4 more for the account: 8 in all, but counted afresh since the login
        assert _login(client, user.email, "wrong").status_code == 200
    assert _login(client, user.email, PASSWORD).status_code == 302


def test_an_address_typed_as_the_email_does_not_count_against_that_address():
    user = UserFactory()
    for _ in range(6):
        _login(_client("10.0.4.1"), "10.0.4.2", "wrong")
    assert _login(_client("10.0.4.2"), user.email, PASSWORD).status_code == 302


def test_attempts_refused_during_a_lock_do_not_count_or_extend_it():
    user = UserFactory()
    client = _client("10.0.5.1")
    for _ in range(5):
        _login(client, user.email, "wrong")
    ttl_before = max(redis_client().ttl(k) for k in redis_client().scan_iter(match="lockout:account:*"))
    for _ in range(10):
        assert _login(client, user.email, "wrong").status_code == 429
    counts = [int(redis_client().get(k)) for k in redis_client().scan_iter(match="lockout:*")]
    assert counts == [5, 5]  # the account and the address, nothing added while locked
    assert max(redis_client().ttl(k) for k in redis_client().scan_iter(match="lockout:account:*")) <= ttl_before


# --- The cool-off --------------------------------------------------------------------------------

def test_after_the_cool_off_the_account_logs_in_again(settings):
    settings.LOGIN_LOCKOUT_COOLOFF_SECONDS = 2
    user = UserFactory()
    client = _client("10.0.6.1")
    assert [_login(client, user.email, "wrong").status_code for _ in range(5)][-1] == 429
    assert _login(client, user.email, PASSWORD).status_code == 429
    time.sleep(2.2)
    assert _login(client, user.email, PASSWORD).status_code == 302


def test_the_lock_lasts_the_configured_cool_off():
    user = UserFactory()
    for _ in range(5):
        _login(_client("10.0.7.1"), user.email, "wrong")
    ttls = [redis_client().ttl(k) for k in redis_client().scan_iter(match="lockout:*")]
    assert len(ttls) == 2 and all(890 <= ttl <= 900 for ttl in ttls)


def test_failures_further_apart_than_the_cool_off_never_add_up(settings):
    settings.LOGIN_LOCKOUT_COOLOFF_SECONDS = 1
    user = UserFactory()
    client = _client("10.0.8.1")
    for _ in range(3):
        for _ in range(4):
            assert _login(client, user.email, "wrong").status_code == 200
        time.sleep(1.2)
    assert _login(client, user.email, PASSWORD).status_code == 302


# --- Every login form ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/supplier-admin/login/"])
def test_each_login_page_locks(path):
    operator = OperatorFactory()
    client = _client("10.0.9.1")
    answers = [_login(client, operator.email, "wrong", path).status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]
    response = _login(client, operator.email, PASSWORD, path)
    assert response.status_code == 429
    assert not _logged_in(client)
    html = response.content.decode()
    assert f'href="{path}"' in html  # back to the login it came from
    assert '<html lang="id">' in html


def test_the_lockout_page_speaks_english_when_chosen():
    user = UserFactory()
    client = _client("10.0.10.1")
    client.cookies["django_language"] = "en"
    for _ in range(5):
        response = _login(client, user.email, "wrong")
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Too many attempts" in html and "15 minutes" in html


def test_the_lockout_page_has_no_inline_script_or_style():
    user = UserFactory()
    for _ in range(5):
        response = _login(_client("10.0.11.1"), user.email, "wrong")
    html = response.content.decode()
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_every_string_of_the_lockout_page_has_an_indonesian_translation():
    from babel.messages.pofile import read_po
    from django.conf import settings
    from django.utils.translation.template import templatize

    root = settings.BASE_DIR
    template = root / "templates" / "registration" / "too_many_attempts.html"
    messages = _messages(templatize(template.read_text(encoding="utf-8"), origin=str(template)), "page")
    with open(root / "locale" / "id" / "LC_MESSAGES" / "django.po", "rb") as po:
        catalog = read_po(po)
    assert len(messages) >= 4
    for _context, msgid, _where in messages:
        entry = catalog.get(msgid)
        assert entry is not None and all(entry.string if isinstance(entry.string, tuple) else [entry.string]), msgid


# --- Password reset ------------------------------------------------------------------------------

def _reset(client: Client, email: str):
    return client.post("/accounts/password_reset/", {"email": email})


def test_password_reset_is_bounded_per_email_address_with_no_mail_past_it():
    user = UserFactory(email="lupa@bengkel.co.id")
    answers = [_reset(_client(f"10.1.0.{n}"), "Lupa@Bengkel.co.id" if n % 2 else user.email).status_code
               for n in range(5)]
    assert answers == [302, 302, 302, 429, 429]
    assert len(mail.outbox) == 3
    # Another address's reset is not held up by it.
    other = UserFactory()
    assert _reset(_client("10.1.0.1"), other.email).status_code == 302
    assert len(mail.outbox) == 4


def test_password_reset_is_bounded_per_client_address():
    users = [UserFactory() for _ in range(11)]
    client = _client("10.1.1.1")
    answers = [_reset(client, user.email).status_code for user in users]
    assert answers == [302] * 10 + [429]
    assert len(mail.outbox) == 10
    response = _reset(client, "nobody@example.co.id")
    assert response.status_code == 429
    assert "Terlalu banyak percobaan" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert _reset(_client("10.1.1.2"), users[-1].email).status_code == 302


def test_password_reset_past_the_bound_answers_alike_for_known_and_unknown_addresses():
    UserFactory(email="ada@bengkel.co.id")
    known = [_reset(_client("10.1.2.1"), "ada@bengkel.co.id") for _ in range(4)]
    unknown = [_reset(_client("10.1.2.2"), "tidak-ada@bengkel.co.id") for _ in range(4)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [302, 302, 302, 429]
    def page(response) -> str:  # without the per-client CSRF tokens
        return re.sub(r"[A-Za-z0-9]{32,}", "", response.content.decode())

    assert page(known[-1]) == page(unknown[-1])


def test_reset_links_that_fail_are_bounded_per_address_and_a_good_link_still_works_elsewhere():
    user = UserFactory()
    _reset(_client("10.1.3.9"), user.email)
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    prober = _client("10.1.3.1")
    uid = link.split("/")[3]
    answers = [prober.get(f"/accounts/reset/{uid}/cafe{n}-0123456789abcdef/").status_code for n in range(11)]
    assert answers == [200] * 10 + [429]
    assert prober.get(link).status_code == 429  # even the good token, from this address
    owner = _client("10.1.3.2")
    form_url = owner.get(link)["Location"]
    response = owner.post(form_url, {"new_password1": "Kopling-Baru-2026", "new_password2": "Kopling-Baru-2026"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Kopling-Baru-2026")


def test_a_password_reset_lifts_the_accounts_lock():
    user = UserFactory()
    for n in range(5):
        _login(_client(f"10.1.4.{n}"), user.email, "wrong")
    owner = _client("10.1.4.9")
    assert _login(owner, user.email, PASSWORD).status_code == 429
    _reset(owner, user.email)
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_url = owner.get(link)["Location"]
    owner.post(form_url, {"new_password1": "Kopling-Baru-2026", "new_password2": "Kopling-Baru-2026"})
    assert _login(owner, user.email, "Kopling-Baru-2026").status_code == 302
