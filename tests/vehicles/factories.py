from __future__ import annotations

import factory

from vehicles.models import Fuel, Make, Transmission, VehicleModel, VehicleType, VehicleVariant


class MakeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Make
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Make {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))
    country = "Japan"


class VehicleModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VehicleModel

    make = factory.SubFactory(MakeFactory)
    name = factory.Sequence(lambda n: f"Model {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))
    vehicle_type = VehicleType.CAR


class VehicleVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VehicleVariant

    model = factory.SubFactory(VehicleModelFactory)
    generation = "Gen 1"
    name = factory.Sequence(lambda n: f"1.{n % 10} G M/T")
    year_from = 2015
    year_to = None
    engine_code = "1NR-VE"
    displacement_cc = 1329
    fuel = Fuel.PETROL
    transmission = Transmission.MANUAL
    body = "MPV"
    vehicle_type = factory.LazyAttribute(lambda o: o.model.vehicle_type)
