"""Bounds of input, shared by the API parser, the serializers (and so the schema) and the services."""

from __future__ import annotations

# PostgreSQL's integer and bigint columns: a larger value is refused by the serializer
# (and documented as `maximum`) instead of failing in the database with "out of range".
INTEGER_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1

# No request of ours nests deeper than a few levels; 32 leaves room and stops a body
# nested thousands deep long before the JSON decoder would recurse out of stack.
JSON_MAX_DEPTH = 32
