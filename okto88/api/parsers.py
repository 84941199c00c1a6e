"""The API's JSON parser: bounded in size and in depth.

DRF reads the request stream itself, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check (which
only guards `request.body`), so the size bound is applied here while reading. The depth is
checked without recursion after decoding; the decoder's own recursion limit (a body nested
100,000 deep) is answered the same way.

NUL characters are not refused here: a NUL in a property the API ignores harms nothing, and
the strings that are used are refused where they are read (DRF's CharField rejects NUL, the
stock rows' service checks its own).
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


def payload_too_large() -> PayloadTooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return PayloadTooLarge(f"The request body is larger than {limit:,} bytes." if limit else None)


def _depth_check(data) -> None:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > JSON_MAX_DEPTH:
                raise JsonTooDeep()
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return {}
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise payload_too_large()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=json.strict_constant if self.strict else None)
        except RecursionError:
            raise JsonTooDeep() from None
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        _depth_check(data)
        return data
