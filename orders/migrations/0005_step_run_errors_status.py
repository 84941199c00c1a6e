from django.db import migrations

# The failures by step and error code (analytics.selectors.workflow) count a day's failed and
# retried attempts and how many of them failed for good: with the status in the index that is
# an index-only scan, not a heap visit per attempt (24 h at the benchmark's scale: ~43,000
# attempts on ~15,000 heap pages). RunSQL: the index serves one query of another app and is not
# part of the StepRun model's state.
INDEX = "step_run_errors_status"


class Migration(migrations.Migration):
    atomic = False  # built CONCURRENTLY: step runs keep being written meanwhile

    dependencies = [
        ("orders", "0004_step_run_timing"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON orders_steprun (started_at) "
            "INCLUDE (step, error_code, status) WHERE status IN ('retrying', 'failed')",
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}",
        ),
    ]
