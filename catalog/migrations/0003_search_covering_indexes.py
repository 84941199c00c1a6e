# Written by hand: two covering indexes for the search by vehicle at scale.

from django.db import migrations

# (name, definition). Both are read index-only (the table is all-visible after VACUUM):
# - part_facet: the facet counts probe the variant's part ids for (category, brand); a
#   popular variant carries ~13,000 parts, which without it meant a sequential scan of
#   catalog_part (~180 ms) and with it ~20 ms;
# - part_category_brand_id: the page of a variant's parts in a category subtree hashes the
#   ids of that subtree against the variant's fitment (~4 ms), instead of walking the part
#   primary key and heap until 50 rows match (~100 ms for a rare category).
# Database-only (RunSQL), like 0002: the model state does not list them, so the ORM never
# tries to manage them. CONCURRENTLY so a deploy does not lock catalog_part for writes.
INDEXES = [
    ("part_facet", "catalog_part (id) INCLUDE (category_id, brand_id)"),
    ("part_category_brand_id", "catalog_part (category_id, brand_id, id)"),
]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("catalog", "0002_drop_redundant_fk_indexes"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON {definition}',
            reverse_sql=f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"',
        )
        for name, definition in INDEXES
    ]
