"""Django's MessageMiddleware with the message storage built when first used.

Django's builds the storage (FallbackStorage: a cookie storage with its signer, and a session
storage) for every request; most requests, the API's all, never add or read a message. Built
lazily, a request that does not touch its messages skips it, and its response is left as
Django's would leave it: an unused storage with nothing added writes no cookie and no session."""

from __future__ import annotations

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty


class LazyMessageMiddleware(MessageMiddleware):
    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response  # never used: Django's update() would find nothing to store
        return super().process_response(request, response)
