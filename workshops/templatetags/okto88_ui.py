"""Template filters shared by the workshop pages (loaded by name, so any app's templates may use them)."""

from __future__ import annotations

import io

import segno
from django import template
from django.utils.safestring import mark_safe

from okto88 import money

register = template.Library()


@register.filter
def rupiah(value) -> str:
    """12500 → 'Rp 12.500', -5000 → '-Rp 5.000': the Indonesian way (dot thousands, no decimals);
    wrap it in class="money" so it never breaks across lines.

    Money is integer rupiah everywhere in okto88, so there is nothing to round; anything that
    is not a number renders as an empty string rather than breaking the page."""
    if value is None or value == "":
        return ""
    try:
        amount = int(value)
    except (TypeError, ValueError):
        return ""
    return money.rupiah(amount)


@register.filter
def get_item(mapping, key):
    """{{ offers|get_item:part.pk }}: a dict lookup by a variable key."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def qr_svg(text, title: str = ""):
    """A QR code (e.g. the gateway's QRIS string) as inline SVG, drawn on the server so the
    page needs no script and the code scans from the screen. '' for an empty text."""
    if not text:
        return ""
    buffer = io.BytesIO()
    segno.make(str(text), error="m").save(
        buffer, kind="svg", xmldecl=False, svgns=True, scale=1, border=4, omitsize=True,
        svgclass="qr-code", lineclass=None, title=title or None)
    # segno writes only path data and the escaped title: nothing of `text` reaches the markup.
    return mark_safe(buffer.getvalue().decode().replace("<svg ", '<svg role="img" ', 1))  # noqa: S308
