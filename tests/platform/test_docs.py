"""The README and docs/ point only inside the repository, and the files they name exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
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
