import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

# Moves each part's stored vector to the new table as it stands (catalog.services.
# part_search_document_refresh writes the same rows later; a migration does not import app
# code), in (brand, category, part) order: see PartSearchDocument.
FILL = """
INSERT INTO catalog_partsearchdocument (id, category_id, brand_id, search_vector)
SELECT id, category_id, brand_id, search_vector FROM catalog_part WHERE search_vector IS NOT NULL
ORDER BY brand_id, category_id, id
"""
UNFILL = """
UPDATE catalog_part p SET search_vector = d.search_vector FROM catalog_partsearchdocument d WHERE d.id = p.id
"""


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0005_fitment_part_category'),
    ]

    operations = [
        migrations.CreateModel(
            name='PartSearchDocument',
            fields=[
                ('part', models.OneToOneField(db_column='id', on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='search_document', serialize=False, to='catalog.part')),
                ('category_id', models.BigIntegerField()),
                ('brand_id', models.BigIntegerField()),
                ('search_vector', django.contrib.postgres.search.SearchVectorField()),
            ],
        ),
        migrations.RunSQL(FILL, reverse_sql=UNFILL),
        migrations.AddIndex(
            model_name='partsearchdocument',
            index=django.contrib.postgres.indexes.GinIndex(fields=['search_vector'], name='partsearchdocument_vector'),
        ),
        migrations.RunSQL("ANALYZE catalog_partsearchdocument", reverse_sql=migrations.RunSQL.noop),
        migrations.RemoveIndex(
            model_name='part',
            name='part_search_vector',
        ),
        migrations.RemoveField(
            model_name='part',
            name='search_vector',
        ),
    ]
