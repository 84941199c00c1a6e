"""Content negotiation for an API that speaks JSON only."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation


class SingleRendererNegotiation(DefaultContentNegotiation):
    """A view with one renderer (every API view: JSON) answers with it without parsing the
    Accept header or the query string for `format`, which cost more than a cached search
    answer itself; RFC 9110 §12.5.1 lets a server send its one representation whatever
    Accept says. Views with several renderers (the OpenAPI schema) negotiate as usual."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if len(renderers) == 1 and not format_suffix:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
