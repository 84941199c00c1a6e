"""The API's JSON parser: bounded in size and depth, and no NUL characters in any string.

DRF reads the request stream itself, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check (which
only guards `request.body`), so the size bound is applied here while reading. PostgreSQL
text cannot hold NUL (psycopg raises instead of storing it): refusing it here covers every
string field of every JSON body in one place.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import exceptions, parsers
from rest_framework.utils import json

from okto88.bounds import JSON_MAX_DEPTH


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is larger than this API accepts."
    default_code = "payload_too_large"


class JsonTooDeep(exceptions.ParseError):
    default_detail = f"JSON nested deeper than {JSON_MAX_DEPTH} levels."
    default_code = "json_too_deep"


class NulCharacter(exceptions.ParseError):
    default_detail = "Strings cannot contain the NUL character (\\u0000)."
    default_code = "nul_character"


def body_size_limit() -> int | None:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def payload_too_large() -> PayloadTooLarge:
    limit = body_size_limit()
    return PayloadTooLarge(f"The request body is larger than {limit:,} bytes." if limit else None)


def _check_tree(data) -> None:
    """Depth and NUL check without recursion (iterative, so no input can exhaust the stack)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > JSON_MAX_DEPTH:
                raise JsonTooDeep()
            for key, item in value.items():
                if "\x00" in key:
                    raise NulCharacter()
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > JSON_MAX_DEPTH:
                raise JsonTooDeep()
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and "\x00" in value:
            raise NulCharacter()


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return {}
        limit = body_size_limit()
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise payload_too_large()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError:
            raise JsonTooDeep() from None
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        _check_tree(data)
        return data
