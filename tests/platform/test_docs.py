"""The README and docs/ point only inside the repository, and the files they name or link exist."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# A Markdown link or image: [text](target) or [text](target "title").
LINK_RE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# A scheme (https:, mailto:) or an anchor on the same page is not a file of the repository.
NOT_A_FILE_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|#)", re.IGNORECASE)
# Built in two pieces so that this file does not mention it itself.
SHARED_FOLDER = "../" + "shared"
UNTRACKED_DIRS = {".git", ".venv", ".local", "node_modules", "__pycache__"}
# A backticked repository path with a file name: `orders/workflow.py`, `docs/architecture.md`.
REPO_FILE_RE = re.compile(r"`([\w.-]+(?:/[\w.-]+)+\.(?:md|py|toml|yml|yaml|po|txt|cfg))`")
OUTSIDE_RE = re.compile(r"\.\./|(?<![\w/:.])/(?:work|root|tmp|home|Users|srv|opt)/")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_docs_name_nothing_outside_the_repository(doc):
    text = doc.read_text(encoding="utf-8")
    assert not OUTSIDE_RE.findall(text), OUTSIDE_RE.findall(text)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_files_docs_name_exist(doc):
    missing = [name for name in REPO_FILE_RE.findall(doc.read_text(encoding="utf-8")) if not (ROOT / name).exists()]
    assert not missing


def test_the_readme_points_to_the_architecture_in_the_repository():
    assert "docs/architecture.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def relative_links(doc: Path) -> list[str]:
    return [target for target in LINK_RE.findall(doc.read_text(encoding="utf-8"))
            if not NOT_A_FILE_RE.match(target)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_points_to_a_file_of_the_repository(doc):
    broken = []
    for target in relative_links(doc):
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(target)
    assert not broken


def test_the_link_check_sees_links_and_refuses_a_missing_file(tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text("[here](here.md) [away](https://example.org) [top](#top) ![logo](<img/logo.png> \"Logo\")",
                   encoding="utf-8")
    assert relative_links(doc) == ["here.md", "img/logo.png"]


def test_the_readme_links_the_architecture_the_events_and_the_decisions():
    links = set(relative_links(ROOT / "README.md"))
    assert {"docs/architecture.md", "docs/events.md"} <= links
    assert any(link.startswith("docs/decisions/") for link in links)


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):  # no git here (an exported tree): every file counts
        files = []
        for folder, dirs, names in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in UNTRACKED_DIRS]
            files += [Path(folder) / name for name in names]
        return files
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_no_file_of_the_repository_points_at_a_shared_folder_beside_it():
    needle = SHARED_FOLDER.encode()
    mentions = [path.relative_to(ROOT).as_posix() for path in tracked_files()
                if path.is_file() and needle in path.read_bytes()]
    assert not mentions
