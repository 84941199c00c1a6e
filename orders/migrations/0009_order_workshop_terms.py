from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

# A terms placement's credit check (orders.services.placement._credit_exposure) reads the
# workshop's open terms orders and their amounts from this index alone; without it, and without
# fresh statistics, the planner also read every open order's entry of order_status_age (bench/
# README.md §5). Built CONCURRENTLY: orders keep being placed.


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('orders', '0008_supplier_order_opened_at'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='order',
            index=models.Index(condition=models.Q(('payment_method', 'terms')), fields=['workshop', 'status'],
                               include=('grand_total', 'refunded_total'), name='order_workshop_terms'),
        ),
    ]
