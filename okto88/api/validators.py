"""Validators of input fields that the OpenAPI schema must describe exactly as the services judge."""

from __future__ import annotations

from django.core.validators import RegexValidator

# Not blank, and no NUL (no PostgreSQL text holds one). The schema's \s is ECMA-262's, which
# lacks four separators and NEL that Python's str.strip() (DRF's trim_whitespace) removes: they
# are named, so whatever the schema allows the serializer and the services do not find blank.
NOT_BLANK_TEXT = RegexValidator(r"^[^\x00]*[^\s\x00\x1c-\x1f\x85][^\x00]*$",
                                message="Cannot be blank or hold NUL.", code="invalid")
