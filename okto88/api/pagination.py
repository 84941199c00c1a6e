from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Stable under inserts and O(1) per page at any depth; views set `ordering` to a unique key."""

    ordering = "-pk"
    page_size_query_param = "page_size"
    max_page_size = 200
