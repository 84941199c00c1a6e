from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Brand, Part
from suppliers import feeds
from suppliers.models import FeedImport, Supplier, Warehouse
from tests.catalog.factories import BrandFactory, CategoryFactory, CrossReferenceFactory, PartFactory
from tests.read_models import read_models_checked_after
from tests.suppliers.factories import SupplierFactory, SupplierMemberFactory, WarehouseFactory

HEADER = "sku,brand,part_number,price,lead_time_days,stock_JKT1,stock_SBY1"


@pytest.fixture(autouse=True)
def _read_models_exact(request):
    """Every test that wrote through the feed import leaves every read model exact."""
    yield from read_models_checked_after(request)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@dataclass
class Feeds:
    """A small catalog and one supplier with two warehouses."""

    toyota: Brand
    bendix: Brand
    pad: Part
    disc: Part
    plug: Part
    bendix_pad: Part
    supplier: Supplier
    jkt: Warehouse
    sby: Warehouse
    member: object


@pytest.fixture
def world(db) -> Feeds:
    category = CategoryFactory()
    toyota = BrandFactory(name="Toyota", slug="toyota")
    bendix = BrandFactory(name="Bendix", slug="bendix")
    pad = PartFactory(brand=toyota, category=category, number="04465-0K240")
    disc = PartFactory(brand=toyota, category=category, number="43512-0K090")
    plug = PartFactory(brand=toyota, category=category, number="90919-01253")
    bendix_pad = PartFactory(brand=bendix, category=category, number="DB 1234")
    # Bendix DB1234 interchanges with the Toyota number 04465-BZ010 (not a Toyota part here).
    CrossReferenceFactory(part=bendix_pad, brand_name="Toyota", number="04465-BZ010")
    supplier = SupplierFactory()
    jkt = WarehouseFactory(supplier=supplier, code="JKT1")
    sby = WarehouseFactory(supplier=supplier, code="SBY1")
    member = SupplierMemberFactory(supplier=supplier).user
    return Feeds(toyota=toyota, bendix=bendix, pad=pad, disc=disc, plug=plug, bendix_pad=bendix_pad,
                 supplier=supplier, jkt=jkt, sby=sby, member=member)


def csv_upload(text: str | bytes, name: str = "feed.csv") -> SimpleUploadedFile:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def xlsx_upload(rows: list[list], name: str = "feed.xlsx") -> SimpleUploadedFile:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(),
                              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def run_feed(supplier: Supplier, upload, actor=None) -> FeedImport:
    """Upload and run synchronously (the on-commit enqueue never fires inside a test transaction)."""
    feed_import = feeds.feed_import_create(supplier=supplier, file=upload, actor=actor)
    return feeds.feed_import_run(feed_import=feed_import)


@pytest.fixture(autouse=True)
def _english_messages(client, settings):
    """These tests read the English texts; Indonesian is the default everywhere else."""
    from django.utils import translation

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield
