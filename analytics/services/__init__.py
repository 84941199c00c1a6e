"""Writes of the analytics app: rollups of recorded events (rollups), the business figures' read model (sales),
security alerts (security_alerts), per-client traffic, baselines and detectors
(security_traffic)."""

from __future__ import annotations

from analytics.services.rollups import (  # noqa: F401
    COMPACT_BATCH_ROWS,
    FLUSH_GRACE_SECONDS,
    MAX_BATCHES_PER_RUN,
    PRUNE_BATCH_ROWS,
    RollupRow,
    rollup_sums_forget,
    rollups_add,
    rollups_compact,
    rollups_flush,
    rollups_maintain,
    rollups_prune,
    system_gauges_sample,
)
from analytics.services.sales import (  # noqa: F401
    DAYS_PER_BATCH,
    UPDATED_AT_OVERLAP,
    sales_days_rebuild,
    sales_days_refresh,
    sales_days_refresh_changed,
)
from analytics.services.security_alerts import (  # noqa: F401
    MUTE_MAX_HOURS,
    MUTE_MIN_HOURS,
    security_alert_acknowledge,
    security_alert_mute,
    security_alert_raise,
)
from analytics.services.security_traffic import (  # noqa: F401
    Baseline,
    Finding,
    client_baselines,
    client_baselines_refresh,
    client_traffic_hours_add,
    client_traffic_prune,
    client_traffic_rollup,
    security_traffic_detect,
)
