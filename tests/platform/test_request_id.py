"""A request id flows from the request to its log lines and into the Celery task it starts."""

from __future__ import annotations

import logging

import pytest

from tests.platform.factories import UserFactory


def test_a_request_id_is_made_when_missing_and_returned(client):
    response = client.get("/healthz")
    assert len(response["X-Request-ID"]) == 32


def test_an_unsafe_request_id_is_replaced_not_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\r\nSet-Cookie: x=1")
    assert response["X-Request-ID"] != "bad id\r\nSet-Cookie: x=1"
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_request_id_reaches_the_log_line_and_the_celery_task_log_line(client, celery_worker, caplog, settings):
    settings.EMAIL_BACKEND = "okto88.email.CeleryEmailBackend"  # pytest-django swaps in locmem
    user = UserFactory(email="lupa@bengkel.co.id")
    request_id = "req-7f3a9c-passwordreset"

    with caplog.at_level(logging.INFO):
        response = client.post("/accounts/password_reset/", {"email": user.email}, HTTP_X_REQUEST_ID=request_id)

    assert response.status_code == 302
    assert response["X-Request-ID"] == request_id
    access = [r for r in caplog.records if r.name == "okto88.access" and r.request_id == request_id]
    assert access and access[0].path == "/accounts/password_reset/"
    task_line = celery_worker.wait_for_log(lambda r: r.get("message") == "email sent")
    assert task_line["request_id"] == request_id
    assert task_line["recipients"] == 1
