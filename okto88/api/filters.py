"""Query-parameter filters the API shares, each documented in the schema with its bounds."""

from __future__ import annotations

import django_filters
import django_filters.fields
from django import forms
from drf_spectacular.utils import extend_schema_field

from okto88.bounds import BIGINT_MAX


class StrictIntegerField(forms.IntegerField):
    """An absent parameter is no filter; a present but empty one (`?make=`) is not a number."""

    def to_python(self, value):
        if value == "":
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


@extend_schema_field({"type": "integer"})
class IntegerFilter(django_filters.NumberFilter):
    field_class = StrictIntegerField


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": BIGINT_MAX})
class IdFilter(IntegerFilter):
    """A row id: a whole number in the bigint range (anything larger would fail in PostgreSQL)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.Field):
    """`true` or `false`, as the schema's boolean is written in a query; anything else is a 400."""

    def to_python(self, value):
        if value is None:
            return None
        if value in ("true", "false"):
            return value == "true"
        raise forms.ValidationError("Write true or false.", code="invalid")


@extend_schema_field({"type": "boolean"})
class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class StrictChoiceField(django_filters.fields.ChoiceField):
    """An absent parameter is no filter; an empty one (`?kind=`) is not one of the choices."""

    def to_python(self, value):
        if value == "":
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                        params={"value": value})
        return super().to_python(value)


class ChoiceFilter(django_filters.ChoiceFilter):
    field_class = StrictChoiceField
