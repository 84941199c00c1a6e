"""docs/events.md names every topic of the event contract with its version and every field of
its payload, and nothing the contract lacks."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from okto88.events import event_topics, events_markdown

DOC = Path(settings.BASE_DIR) / "docs" / "events.md"
HEADING = re.compile(r"^## `(?P<topic>[^`]+)` \(version (?P<version>\d+)\)$")
FIELD_ROW = re.compile(r"^\| `(?P<field>[^`]+)` \|")


def documented() -> dict[str, tuple[int, list[str]]]:
    """topic → (version, the fields its table lists), as docs/events.md says."""
    topics: dict[str, tuple[int, list[str]]] = {}
    current = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if heading := HEADING.match(line):
            current = heading["topic"]
            assert current not in topics, f"{current} is documented twice"
            topics[current] = (int(heading["version"]), [])
        elif current and (row := FIELD_ROW.match(line)):
            topics[current][1].append(row["field"])
    return topics


def test_every_topic_is_documented_with_its_version_and_fields():
    doc = documented()
    registry = event_topics()
    assert sorted(doc) == sorted(registry), "docs/events.md and the registry name different topics"
    for name, topic in registry.items():
        version, fields = doc[name]
        assert version == topic.version, f"{name}: the document says version {version}"
        assert fields == list(topic.payload), f"{name}: the document lists {fields}"


def test_the_document_is_the_generated_one():
    # Meanings, producers and consumers too: regenerate with `manage.py events_doc`.
    assert DOC.read_text(encoding="utf-8") == events_markdown()
