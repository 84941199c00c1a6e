"""Template filters shared by the workshop pages (loaded by name, so any app's templates may use them)."""

from __future__ import annotations

from django import template

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
