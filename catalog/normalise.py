"""Normalised keys for part numbers.

Workshops type part numbers the way they see them on a box, an invoice or a screen:
"04465-0K240", "044650k240", "04465 0K240". They are one number, so every number is
stored with a key that keeps only upper-case letters and digits. This module has no
Django imports so models, services, selectors, imports and benchmarks can all share it.
"""

from __future__ import annotations

import re

_NOT_KEY_CHARACTERS = re.compile(r"[^A-Z0-9]")
# A part number, and its key, has at most this many characters (catalog.models' columns); the
# importers refuse a longer one as a row error instead of failing the insert.
PART_NUMBER_MAX_LENGTH = 60
# part_number_normalise in SQL, for set-based paths (the supplier feed's validation); `{0}` is the
# text expression. tests/catalog/test_normalise.py holds the two forms equal. Most numbers hold
# only letters, digits and the usual separators (space, dash, dot, slash): for them translate()
# and btrim() give the key without the regular expression, which cost a million-row feed seconds.
_KEY_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_SEPARATORS = " -./"
PART_NUMBER_KEY_SQL = (
    f"(CASE WHEN btrim(translate(upper({{0}}), '{_SEPARATORS}', ''), '{_KEY_CHARACTERS}') = ''"
    f" THEN translate(upper({{0}}), '{_SEPARATORS}', '')"
    f" ELSE regexp_replace(upper({{0}}), '[^A-Z0-9]+', '', 'g') END)"
)
_WORD = re.compile(r"[0-9a-z]+")


def part_number_normalise(number: str) -> str:
    """Upper case, then only A-Z and 0-9: "04465-0k240 " → "044650K240"."""
    return _NOT_KEY_CHARACTERS.sub("", (number or "").upper())


def search_words(text: str) -> list[str]:
    """The words of a free-text query, lower case, letters and digits only.

    Used to build a prefix tsquery ("kampas re" → 'kampas':* & 're':*) without ever
    passing user input through tsquery syntax.
    """
    return _WORD.findall((text or "").lower())
