from django.db import migrations, models

# Events published before positions existed keep their id as their position, in id order (the
# relay published them in that order); the sequence starts after them.
BACKFILL = """
CREATE SEQUENCE IF NOT EXISTS platform_outbox_position;
UPDATE platform_outboxevent SET position = id WHERE published_at IS NOT NULL;
SELECT setval('platform_outbox_position', GREATEST((SELECT max(id) FROM platform_outboxevent), 1));
"""


class Migration(migrations.Migration):
    dependencies = [
        ("platform", "0003_apikey_ops_read_scope"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxevent",
            name="position",
            field=models.BigIntegerField(blank=True, editable=False, null=True, unique=True),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql="DROP SEQUENCE IF EXISTS platform_outbox_position;"),
    ]
