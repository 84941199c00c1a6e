"""What an import reports: its counts and every rejected row; and how it tells its progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PROGRESS_EVERY = 2000


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    code: str
    message: str


@dataclass
class ImportReport:
    kind: str
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    parts_changed: int = 0
    events: int = 0
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.errors})

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "total_rows": self.total_rows, "created": self.created,
            "updated": self.updated, "unchanged": self.unchanged,
            "parts_changed": self.parts_changed, "events": self.events,
            "rejected_rows": self.rejected_rows, "committed": self.committed,
            "dry_run": self.dry_run, "seconds": round(self.seconds, 3),
            "errors": [e.__dict__ for e in self.errors],
        }


Progress = Callable[..., None]  # progress(stage=str, done=int, total=int)
