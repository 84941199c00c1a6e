from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, pagination


class InvalidCursor(exceptions.NotFound):
    # A cursor names a page; one we never issued names none: 404, with its own code. (A 400
    # would refuse requests the schema allows: a cursor is an opaque string, and no schema can
    # tell the cursors we issue from other strings.)
    default_detail = "The cursor points to no page; use the `next` or `previous` link of a page."
    default_code = "invalid_cursor"


def page_size_param(request, *, name: str = "page_size", maximum: int) -> int | None:
    """`?page_size=`: absent is None; a whole number ≥ 1, above `maximum` capped to it; else 400."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise exceptions.ValidationError({name: [exceptions.ErrorDetail(
            f"A whole number from 1 (values above {maximum} count as {maximum}).", code="invalid")]})
    return min(value, maximum)


def page_size_schema_parameter(*, name: str = "page_size", default: int, maximum: int, description: str = "") -> dict:
    return {
        "name": name, "required": False, "in": "query",
        "description": description or f"Results per page (default {default}; above {maximum} counts as {maximum})",
        "schema": {"type": "integer", "minimum": 1},
    }


class CursorPagination(pagination.CursorPagination):
    """Stable under inserts and O(1) per page at any depth; views set `ordering` to a unique key."""

    ordering = "-pk"
    page_size_query_param = "page_size"
    max_page_size = 200
    invalid_cursor_message = InvalidCursor.default_detail

    def get_page_size(self, request):
        # DRF falls back to the default on a bad value; it is bad input, answered as such.
        return page_size_param(request, name=self.page_size_query_param, maximum=self.max_page_size) or self.page_size

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise InvalidCursor() from exc
        if cursor is not None and cursor.position is not None and "\x00" in cursor.position:
            raise InvalidCursor()
        return cursor

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, DjangoValidationError) as exc:
            # A decodable cursor whose position does not fit the ordering field ("p=abc" on ids).
            if request.query_params.get(self.cursor_query_param):
                raise InvalidCursor() from exc
            raise

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param, "required": False, "in": "query",
                "description": "The page cursor: the `next` or `previous` link of a page carries it",
                "schema": {"type": "string"},
            },
            page_size_schema_parameter(name=self.page_size_query_param, default=self.page_size,
                                       maximum=self.max_page_size),
        ]
