"""Rollups: every recorded kind (okto88/recording.py) lands in one table, one row per kind,
time bucket, label set and outcome.

A row holds a count, the sum of the durations in milliseconds and a histogram: one counter per
bucket of okto88.recording.BUCKET_BOUNDS_MS (+Inf last), not cumulative, so rows of any minutes,
routes or processes add up bucket by bucket and percentiles are estimated from the sum
(analytics.selectors.rollups). Counted kinds (demand) keep an empty histogram. Kind "system"
holds gauges sampled once a minute: count is the number of samples and sum_ms the sum of the
sampled values (not milliseconds), so sum_ms / count is the mean value.

Minute rows (bucket_seconds 60) are compacted into hour rows (3600) after
ROLLUP_MINUTE_RETENTION_HOURS; hour rows are deleted after ROLLUP_HOUR_RETENTION_DAYS. An event
lives in exactly one row, so a period's figures add minute and hour rows without counting twice.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class Rollup(models.Model):
    kind = models.CharField(max_length=32)
    bucket_seconds = models.PositiveIntegerField()  # 60 (minute rows) or 3600 (hour rows)
    bucket_start = models.DateTimeField()
    labels = ArrayField(models.TextField())
    outcome = models.CharField(max_length=32)
    count = models.BigIntegerField(default=0)
    sum_ms = models.FloatField(default=0.0)
    histogram = ArrayField(models.BigIntegerField(), default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "bucket_seconds", "bucket_start", "labels", "outcome"], name="rollup_unique_series"
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "bucket_start"], name="rollup_kind_start"),
            # Compaction and retention walk one resolution's oldest rows, whatever their kind.
            models.Index(fields=["bucket_seconds", "bucket_start"], name="rollup_resolution_start"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.bucket_start:%Y-%m-%d %H:%M} {'/'.join(self.labels)} {self.outcome}: {self.count}"
