# Written by hand: the part's category on fitment (a read model, see Fitment.part_category_id).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

# Fills the column from the parts as they stand (catalog.services.fitment_part_category_refresh
# keeps it later; a migration does not import app code). One statement: on 5,000,000 rows it
# leaves as many dead row versions, which (auto)vacuum reclaims.
FILL = """
UPDATE catalog_fitment f SET part_category_id = p.category_id
FROM catalog_part p WHERE p.id = f.part_id
"""


class Migration(migrations.Migration):
    # Each step commits on its own: the column is filled before it is made NOT NULL, and the
    # index is built CONCURRENTLY so a deploy does not lock fitment for writes meanwhile.
    atomic = False

    dependencies = [
        ("catalog", "0004_variant_facet"),
    ]

    operations = [
        migrations.AddField(
            model_name="fitment",
            name="part_category_id",
            field=models.BigIntegerField(editable=False, null=True),
        ),
        migrations.RunSQL(FILL, reverse_sql=migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="fitment",
            name="part_category_id",
            field=models.BigIntegerField(editable=False),
        ),
        AddIndexConcurrently(
            model_name="fitment",
            index=models.Index(fields=["variant", "part_category_id", "part"], name="fitment_variant_category_part"),
        ),
    ]
