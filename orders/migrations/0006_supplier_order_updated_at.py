import django.db.models.functions.datetime
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

# A supplier's ERP reads its supplier orders newest first, or those changed since it last looked
# (orders.api SupplierOrderListApi). The column's default is a constant for the rows already
# there (no table rewrite); the indexes are built CONCURRENTLY: supplier orders keep being written.


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('orders', '0005_step_run_errors_status'),
    ]

    operations = [
        migrations.AddField(
            model_name='supplierorder',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, db_default=django.db.models.functions.datetime.Now(),
                                       verbose_name='updated at'),
        ),
        AddIndexConcurrently(
            model_name='supplierorder',
            index=models.Index(fields=['supplier', '-id'], name='supplier_order_recent'),
        ),
        AddIndexConcurrently(
            model_name='supplierorder',
            index=models.Index(fields=['supplier', 'updated_at'], name='supplier_order_updated'),
        ),
    ]
