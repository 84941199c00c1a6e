# Placeholder of the recording branch's Rollup (issue 13), so the business figures' demand read
# runs in this branch; that branch's 0001_initial replaces this file.
import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Rollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=20)),
                ("bucket_start", models.DateTimeField()),
                ("bucket_seconds", models.PositiveIntegerField()),
                ("labels", django.contrib.postgres.fields.ArrayField(base_field=models.TextField(), size=None)),
                ("outcome", models.CharField(blank=True, max_length=20)),
                ("count", models.BigIntegerField(default=0)),
                ("sum_ms", models.BigIntegerField(default=0)),
                ("buckets", django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), default=list,
                                                                      size=None)),
            ],
            options={"verbose_name": "rollup", "verbose_name_plural": "rollups"},
        ),
    ]
