"""Catalog factories. Parts are created through the service so number keys, search
documents, versions and events are as in production; bulk helpers build many rows fast."""

from __future__ import annotations

import factory

from catalog import services
from catalog.models import Brand, BrandKind, Category, CrossReference, Fitment, Part, PartStatus
from catalog.normalise import part_number_normalise
from tests.vehicles.factories import MakeFactory, VehicleModelFactory, VehicleVariantFactory

__all__ = [
    "BrandFactory", "CategoryFactory", "CrossReferenceFactory", "FitmentFactory", "MakeFactory", "PartFactory",
    "VehicleModelFactory", "VehicleVariantFactory",
]


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))
    kind = BrandKind.AFTERMARKET
    country = "Indonesia"


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    parent = None
    slug = factory.Sequence(lambda n: f"category-{n}")
    name_id = factory.Sequence(lambda n: f"Kategori {n}")
    name_en = factory.Sequence(lambda n: f"Category {n}")
    synonyms = ""

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Through the service so parts already in it (none, usually) get refreshed too.
        return services.category_save(category=model_class(*args, **kwargs))


class PartFactory(factory.django.DjangoModelFactory):
    """`PartFactory(number="04465-0K240")` calls catalog.services.part_create."""

    class Meta:
        model = Part

    brand = factory.SubFactory(BrandFactory)
    category = factory.SubFactory(CategoryFactory)
    number = factory.Sequence(lambda n: f"P-{n:05d}")
    name_id = "Suku cadang"
    name_en = "Spare part"
    weight_g = 500
    status = PartStatus.ACTIVE

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.part_create(**kwargs)


class CrossReferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CrossReference

    part = factory.SubFactory(PartFactory)
    brand_name = "Toyota"
    number = factory.Sequence(lambda n: f"OE-{n:05d}")
    is_oe = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.cross_reference_add(**kwargs)


class FitmentFactory(factory.django.DjangoModelFactory):
    """A single fitment row written directly (no event): for arranging search data. The row
    carries its part's category and the variant's facet counts are rebuilt, as after any write
    that bypasses fitment_set."""

    class Meta:
        model = Fitment

    part = factory.SubFactory(PartFactory)
    variant = factory.SubFactory(VehicleVariantFactory)
    position = ""
    quantity = 1

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs.setdefault("part_category_id", kwargs["part"].category_id)
        fitment = super()._create(model_class, *args, **kwargs)
        services.variant_facet_rebuild(variant_ids=[fitment.variant_id])
        return fitment


def parts_bulk(*, brand: Brand, category: Category, count: int, name_id: str = "Suku cadang",
               name_en: str = "Spare part", prefix: str = "B") -> list[Part]:
    """Many parts at once, as the demo and the import load them (bulk + one refresh)."""
    parts = Part.objects.bulk_create([
        Part(brand=brand, category=category, number=f"{prefix}-{i:05d}",
             number_key=part_number_normalise(f"{prefix}-{i:05d}"), name_id=f"{name_id} {i}",
             name_en=f"{name_en} {i}")
        for i in range(count)
    ])
    services.part_search_document_refresh(part_ids=[p.pk for p in parts])
    return parts
