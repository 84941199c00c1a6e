"""okto88.lazy_messages: the message storage is built only for a request that uses it, and a
message added on one request is still shown on the next, as with Django's middleware."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import empty

from okto88.lazy_messages import LazyMessageMiddleware


def _served(view, cookies: dict | None = None):
    request = RequestFactory().get("/")
    request.COOKIES.update(cookies or {})
    SessionMiddleware(lambda r: None).process_request(request)
    response = LazyMessageMiddleware(view)(request)
    return request, response


def test_a_request_that_uses_no_message_builds_no_storage_and_sets_no_cookie():
    request, response = _served(lambda request: HttpResponse("ok"))
    assert request._messages._wrapped is empty
    assert "messages" not in response.cookies


def test_a_message_added_on_one_request_is_read_on_the_next():
    def add(request):
        messages.success(request, "Pesanan dibuat")
        return HttpResponse("added")

    request, response = _served(add)
    assert isinstance(request._messages._wrapped, FallbackStorage)
    cookie = response.cookies["messages"].value
    assert cookie

    shown = []

    def read(request):
        shown.extend(str(m) for m in messages.get_messages(request))
        return HttpResponse("read")

    _request, after = _served(read, cookies={"messages": cookie})
    assert shown == ["Pesanan dibuat"]
    # Read, so the cookie is cleared as Django's middleware clears it.
    assert after.cookies["messages"].value == ""


@pytest.mark.parametrize("level", [messages.INFO, messages.ERROR])
def test_the_messages_api_works_through_the_lazy_storage(level):
    def add(request):
        messages.add_message(request, level, "x")
        assert len(list(messages.get_messages(request))) == 1
        return HttpResponse()

    _served(add)
