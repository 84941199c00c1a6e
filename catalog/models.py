from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.normalise import PART_NUMBER_MAX_LENGTH
from vehicles.models import VehicleVariant


class BrandKind(models.TextChoices):
    OEM = "oem", _("OEM")
    AFTERMARKET = "aftermarket", _("Aftermarket")


class Brand(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=BrandKind.choices)
    country = models.CharField(_("country"), max_length=60, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("brand")
        verbose_name_plural = _("brands")

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """A tree (adjacency list; the tree is small, a few hundred nodes)."""

    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    slug = models.SlugField(max_length=80, unique=True)
    name_id = models.CharField(_("name (Indonesian)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    synonyms = models.TextField(_("search synonyms"), blank=True, help_text=_("Comma separated, both languages"))

    class Meta:
        ordering = ["name_id"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name_id


class PartStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUPERSEDED = "superseded", _("Superseded")
    DISCONTINUED = "discontinued", _("Discontinued")


class Part(models.Model):
    """A brand's part number. `number_key` is the normalised number: upper case, letters and
    digits only, so 04465-0K240, 044650k240 and 04465 0K240 are one part."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="parts")
    # db_index=False: part_category_brand (category, brand) serves every lookup by category.
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="parts", db_index=False)
    number = models.CharField(_("part number"), max_length=PART_NUMBER_MAX_LENGTH)
    number_key = models.CharField(max_length=PART_NUMBER_MAX_LENGTH, editable=False)
    name_id = models.CharField(_("name (Indonesian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    weight_g = models.PositiveIntegerField(_("weight (g)"), default=0)
    length_mm = models.PositiveIntegerField(_("length (mm)"), default=0)
    width_mm = models.PositiveIntegerField(_("width (mm)"), default=0)
    height_mm = models.PositiveIntegerField(_("height (mm)"), default=0)
    status = models.CharField(_("status"), max_length=12, choices=PartStatus.choices, default=PartStatus.ACTIVE)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="supersedes"
    )
    version = models.PositiveIntegerField(default=1)
    # Maintained by the services from names, brand, category names and synonyms (the full-text
    # vector is in PartSearchDocument).
    search_text = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("part")
        verbose_name_plural = _("parts")
        constraints = [
            models.UniqueConstraint(fields=["brand", "number_key"], name="part_brand_number_key_unique"),
            models.CheckConstraint(condition=~Q(superseded_by=models.F("id")), name="part_not_superseded_by_itself"),
        ]
        indexes = [
            models.Index(fields=["number_key"], name="part_number_key"),
            models.Index(fields=["category", "brand"], name="part_category_brand"),
            GinIndex(fields=["number_key"], name="part_number_key_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["search_text"], name="part_search_text_trgm", opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.brand.name} {self.number}"


class PartSearchDocument(models.Model):
    """Read model: a part's full-text document, with the columns a words search filters on.

    The ranking of a common word reads every match's document (ts_rank): ~11,000 rows for
    "oli mesin". Here a row is ~300 bytes instead of a part's ~600, and the full rebuild writes
    them in (brand, category, part) order, so the matches of a category's or a brand's words
    lie on a few hundred adjacent pages instead of thousands spread over catalog_part (rows
    written later by the services go wherever there is room). Written only by catalog.services
    (part_search_document_refresh) with the part's search_text."""

    # Column "id": the words search's SQL conditions (p.id, p.category_id, p.brand_id) read the
    # same on this table as on catalog_part.
    part = models.OneToOneField(Part, on_delete=models.CASCADE, primary_key=True, db_column="id",
                                related_name="search_document")
    # Plain ids, no foreign-key constraints: copies of the part's, refreshed with the document.
    category_id = models.BigIntegerField()
    brand_id = models.BigIntegerField()
    search_vector = SearchVectorField()

    class Meta:
        indexes = [GinIndex(fields=["search_vector"], name="partsearchdocument_vector")]

    def __str__(self) -> str:
        return f"search document of part {self.part_id}"


class CrossReference(models.Model):
    """Another number (an OE number or another brand's) that interchanges with `part`."""

    # db_index=False: crossref_unique (part, brand_name, number_key) starts with part.
    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="cross_references", db_index=False)
    brand_name = models.CharField(_("brand"), max_length=80)
    number = models.CharField(_("number"), max_length=PART_NUMBER_MAX_LENGTH)
    number_key = models.CharField(max_length=PART_NUMBER_MAX_LENGTH, editable=False)
    is_oe = models.BooleanField(_("OE number"), default=False)

    class Meta:
        verbose_name = _("cross reference")
        verbose_name_plural = _("cross references")
        constraints = [
            models.UniqueConstraint(fields=["part", "brand_name", "number_key"], name="crossref_unique"),
        ]
        indexes = [models.Index(fields=["number_key"], name="crossref_number_key")]

    def __str__(self) -> str:
        return f"{self.brand_name} {self.number} → {self.part_id}"


class Position(models.TextChoices):
    ANY = "", _("—")
    FRONT = "front", _("Front")
    REAR = "rear", _("Rear")
    LEFT = "left", _("Left")
    RIGHT = "right", _("Right")
    FRONT_LEFT = "front_left", _("Front left")
    FRONT_RIGHT = "front_right", _("Front right")
    REAR_LEFT = "rear_left", _("Rear left")
    REAR_RIGHT = "rear_right", _("Rear right")


class Fitment(models.Model):
    # db_index=False on both: fitment_part indexes part, fitment_unique (variant, part,
    # position) serves variant; the FK's default indexes would duplicate them on the
    # biggest table (millions of rows).
    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="fitments", db_index=False)
    variant = models.ForeignKey(VehicleVariant, on_delete=models.CASCADE, related_name="fitments", db_index=False)
    position = models.CharField(_("position"), max_length=12, choices=Position.choices, blank=True, default="")
    quantity = models.PositiveSmallIntegerField(_("quantity per vehicle"), default=1)
    note = models.CharField(_("note"), max_length=200, blank=True)
    # Read model: the part's category, copied here so that a vehicle's parts in a category are
    # one range of fitment_variant_category_part (a part's category is not otherwise on
    # fitment: a busy variant's page probed part_facet once per fitted part until it was full).
    # Written with the row by every path that writes fitment, refreshed in the transaction of
    # every category change of a part (services.fitment_part_category_refresh); a plain id, no
    # foreign key (derived; the part's own key protects the category).
    part_category_id = models.BigIntegerField(editable=False)

    class Meta:
        verbose_name = _("fitment")
        verbose_name_plural = _("fitments")
        constraints = [
            models.UniqueConstraint(fields=["variant", "part", "position"], name="fitment_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="fitment_quantity_gte_1"),
        ]
        indexes = [
            models.Index(fields=["part"], name="fitment_part"),
            # The page of a vehicle's parts in a category subtree: index-only, one range per category.
            models.Index(fields=["variant", "part_category_id", "part"], name="fitment_variant_category_part"),
        ]

    def __str__(self) -> str:
        position = f" ({self.position})" if self.position else ""
        return f"{self.part_id} → {self.variant_id}{position}"


class VariantFacet(models.Model):
    """Read model: how many of the parts a vehicle variant fits are of each (category, brand).

    The facet counts of a search by vehicle sum these rows (a few hundred per variant)
    instead of matching every part of a busy variant (13,000) against part_facet. Written
    only by catalog.services (variant_facet_follow, variant_facet_rebuild) in the transaction
    of every change of fitment or of a fitted part's category or brand."""

    # Plain ids, no foreign-key constraints: derived rows, written set-based.
    variant_id = models.BigIntegerField()
    category_id = models.BigIntegerField()
    brand_id = models.BigIntegerField()
    parts = models.IntegerField()

    class Meta:
        constraints = [
            # Read index-only by variant (INCLUDE parts); the upserts conflict on it.
            models.UniqueConstraint(fields=["variant_id", "category_id", "brand_id"], include=["parts"],
                                    name="variantfacet_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}: {self.category_id}/{self.brand_id} × {self.parts}"
