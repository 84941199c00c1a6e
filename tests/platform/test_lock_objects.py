"""Row locks are taken only by each app's lock_objects.py (DESIGN.md, "Services own their
transactions"), where their order (primary key) is written down once."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["vehicles", "catalog", "suppliers", "workshops", "orders", "payments", "logistics", "analytics", "okto88"]


def test_select_for_update_is_called_only_in_lock_objects():
    outside = sorted(
        str(path.relative_to(ROOT))
        for app in APPS for path in (ROOT / app).rglob("*.py")
        if path.name != "lock_objects.py" and "migrations" not in path.parts
        and "select_for_update(" in path.read_text(encoding="utf-8")
    )
    assert outside == []
