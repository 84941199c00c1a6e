"""Every string the analytics app shows (its Python and its templates) has an Indonesian translation.

The strings are found as `makemessages` finds them: templates turned into gettext calls by
Django's templatize, then read with Babel's Python extractor (no GNU gettext needed).
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_python
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils.translation.template import templatize

ROOT = Path(settings.BASE_DIR)
KEYWORDS = {"_": None, "gettext": None, "gettext_lazy": None, "gettext_noop": None, "ngettext": (1, 2),
            "ngettext_lazy": (1, 2), "pgettext": ((1, "c"), 2), "pgettext_lazy": ((1, "c"), 2),
            "npgettext": ((1, "c"), 2, 3), "npgettext_lazy": ((1, "c"), 2, 3)}


def _messages(source: str, where: str) -> set[tuple[str | None, str, str]]:
    found = set()
    for _line, function, args, _comments in extract_python(io.BytesIO(source.encode()), KEYWORDS, [], {}):
        args = args if isinstance(args, tuple) else (args,)
        context = args[0] if function.startswith(("pgettext", "npgettext")) else None
        msgid = args[1] if context is not None else args[0]
        if msgid:
            found.add((context, msgid, where))
    return found


def analytics_messages() -> set[tuple[str | None, str, str]]:
    found = set()
    for path in sorted((ROOT / "analytics").rglob("*.py")):
        if "migrations" not in path.parts:
            found |= _messages(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    for path in sorted((ROOT / "templates" / "analytics").rglob("*.html")):
        found |= _messages(templatize(path.read_text(encoding="utf-8"), origin=str(path)),
                           str(path.relative_to(ROOT)))
    return found


def test_every_analytics_string_has_an_indonesian_translation():
    with open(ROOT / "locale" / "id" / "LC_MESSAGES" / "django.po", "rb") as po:
        catalog = read_po(po)
    messages = analytics_messages()
    assert len(messages) > 100  # the extraction found the app's strings
    missing = []
    for context, msgid, where in sorted(messages, key=lambda m: (m[2], m[1])):
        entry = catalog.get(msgid, context=context)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else (
            (entry.string,) if entry is not None else ("",))
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(f"{where}: {msgid!r}")
    assert not missing, "\n".join(missing)
