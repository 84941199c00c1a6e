"""Recording of timed events (requests, partner calls, workflow steps) and counts (search
demand): the one place every measured thing goes, cheap enough for every request.

API (stable; issue 13):
- record(kind, labels, seconds, outcome="ok"): one timed event.
  kinds: "request" (method, route) outcome "2xx".."5xx"; "partner" (partner, operation)
  outcome ok|rejected|error|timeout|open; "step_wait" (step,) and "step_run" (step,) outcome
  the step run's status.
- count(kind, labels, n=1): one counted event with no duration (e.g. "demand").

TODO(issue 13, branch ops-rec): buffered in-process, flushed to Redis minute hashes.
"""

from __future__ import annotations


def record(kind: str, labels: tuple[str, ...], seconds: float, outcome: str = "ok") -> None:
    return None


def count(kind: str, labels: tuple[str, ...], n: int = 1) -> None:
    return None
