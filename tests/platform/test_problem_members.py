"""RFC 9457 members of a problem are never replaced by an error's extra fields."""

from __future__ import annotations

import pytest

from okto88.api.problems import PROBLEM_MEMBERS, problem_body, problem_exception_handler
from okto88.errors import Conflict


def test_extra_fields_cannot_replace_the_standard_members():
    body = problem_body(status_code=409, code="invalid_transition", detail="No.", instance="/x",
                        type="https://evil.example/", title="t2", status="cancelled", detail2="kept",
                        order_status="cancelled")
    assert body["status"] == 409 and body["type"].endswith("/invalid_transition") and body["detail"] == "No."
    assert body["order_status"] == "cancelled" and body["detail2"] == "kept"
    assert {"type", "title", "status", "detail", "instance"} <= PROBLEM_MEMBERS


@pytest.mark.django_db
def test_an_application_error_with_a_status_extra_keeps_the_http_status():
    response = problem_exception_handler(Conflict("Already cancelled.", extra={"status": "cancelled"}), {})
    assert response.status_code == 409 and response.data["status"] == 409
