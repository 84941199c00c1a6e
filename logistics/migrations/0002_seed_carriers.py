"""The couriers the aggregator offers; operators can deactivate one in admin."""

from django.db import migrations

CARRIERS = [("jne", "JNE"), ("sicepat", "SiCepat"), ("jnt", "J&T Express"), ("anteraja", "AnterAja")]


def seed(apps, schema_editor):
    Carrier = apps.get_model("logistics", "Carrier")
    for code, name in CARRIERS:
        Carrier.objects.get_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("logistics", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
