"""Login, logout, password reset, role navigation, and the Indonesian/English switch."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from tests.platform.factories import OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_home_speaks_indonesian_by_default(client):
    response = client.get("/")
    html = response.content.decode()
    assert '<html lang="id">' in html
    assert "Masuk" in html  # "Log in"


def test_the_language_switch_turns_the_site_english(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, follow=True)
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Log in" in html


def test_login_with_email_and_password_then_logout(client):
    user = UserFactory(email="budi@bengkel.co.id")
    response = client.post("/accounts/login/", {"username": "budi@bengkel.co.id", "password": "s3cret-Passw0rd"})
    assert response.status_code == 302
    assert client.get("/").context["user"] == user
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert not client.get("/").context["user"].is_authenticated


def test_a_wrong_password_shows_a_message_and_keeps_the_user_out(client):
    UserFactory(email="budi@bengkel.co.id")
    response = client.post("/accounts/login/", {"username": "budi@bengkel.co.id", "password": "wrong"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert not response.context["user"].is_authenticated


def test_password_reset_mails_a_link_that_sets_a_new_password(client):
    user = UserFactory(email="lupa@bengkel.co.id")
    response = client.post("/accounts/password_reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    response = client.post(form_url, {"new_password1": "Kopling-Baru-2026", "new_password2": "Kopling-Baru-2026"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Kopling-Baru-2026")


def test_password_reset_for_an_unknown_address_reveals_nothing(client):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.co.id"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_operators_see_admin_in_the_navigation(client):
    client.force_login(OperatorFactory())
    html = client.get("/").content.decode()
    assert 'href="/admin/"' in html


def test_a_user_without_a_role_does_not_see_admin(client):
    client.force_login(UserFactory())
    html = client.get("/").content.decode()
    assert 'href="/admin/"' not in html


def test_an_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "tidak ada" in response.content.decode()


def test_an_english_browser_still_gets_indonesian_until_the_switch_is_used(client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="id">' in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="id-ID").content.decode()
    assert '<html lang="en">' in html
