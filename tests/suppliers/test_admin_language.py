"""The supplier admin in Indonesian, and what it shows of others (issue 11 items 18 and 19):
columns, model names and object titles are translated; the stock list's warehouse filter names
only the member's own warehouses; the ledger names the workshop, never a member's e-mail."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import label_for_field
from django.test import Client
from django.utils import translation
from django.utils.text import capfirst

from orders import services as order_services
from orders.models import OrderEvent
from suppliers.admin_scoping import supplier_admin_site
from suppliers.models import Stock, StockMovement
from tests.orders.conftest import _partners  # noqa: F401 (the order's partners)
from tests.orders.factories import place
from tests.orders.ui_data import shop_make
from tests.platform.factories import OperatorFactory
from tests.suppliers.factories import StockFactory, SupplierMemberFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

SITE = "/supplier-admin"
# Words that are the same in both languages.
SAME_IN_BOTH = {"SKU", "Status", "Part", "Parts", "NPWP", "ID", "Subtotal (Rp)", "Subtotal"}


def _labels(model_admin, names) -> list[tuple[str, str, str]]:
    rows = []
    for name in names:
        if name == "action_checkbox":
            continue
        with translation.override("en"):
            english = str(label_for_field(name, model_admin.model, model_admin))
        with translation.override("id"):
            indonesian = str(label_for_field(name, model_admin.model, model_admin))
        rows.append((name, english, indonesian))
    return rows


@pytest.mark.parametrize("model", list(supplier_admin_site._registry), ids=lambda m: m._meta.label)
def test_supplier_admin_columns_and_model_names_are_indonesian(model):
    model_admin = supplier_admin_site._registry[model]
    names = [*model_admin.list_display, "supplier"] if hasattr(model, "supplier") else model_admin.list_display
    untranslated = [(name, en) for name, en, id_ in _labels(model_admin, names)
                    if en == id_ and capfirst(en) not in SAME_IN_BOTH]
    with translation.override("en"):
        english = (str(model._meta.verbose_name), str(model._meta.verbose_name_plural))
    with translation.override("id"):
        indonesian = (str(model._meta.verbose_name), str(model._meta.verbose_name_plural))
    untranslated += [(label, label) for label, other in zip(english, indonesian, strict=True)
                     if label == other and capfirst(label) not in SAME_IN_BOTH]
    assert not untranslated


@pytest.fixture
def world():
    shop = shop_make(extra_parts=0)
    offer = shop.pad.offers.get(supplier__legal_name="PT Sinar Jaya Parts")
    order_services.cart_line_add(workshop=shop.buyer.workshop, offer_id=offer.pk, quantity=2)
    order = place(buyer=shop.buyer)  # reserves: a ledger row whose actor is the workshop member
    member = SupplierMemberFactory(supplier=offer.supplier).user
    client = Client()
    client.force_login(member)
    return {"shop": shop, "offer": offer, "order": order, "client": client}


def test_the_stock_title_reads_like_a_person_wrote_it(world):
    stock = Stock.objects.get(offer=world["offer"])
    with translation.override("id"):
        assert str(stock) == f"Kampas Rem Depan Bendix DB1234 @ {stock.warehouse.name}: 20 (2 dipesan)"
    with translation.override("en"):
        assert str(stock) == f"Front Brake Pad Bendix DB1234 @ {stock.warehouse.name}: 20 (2 reserved)"
    html = world["client"].get(f"{SITE}/suppliers/stock/{stock.pk}/change/").content.decode()
    assert "Kampas Rem Depan Bendix DB1234" in html and "dipesan)" in html


def test_the_stock_list_is_in_indonesian(world):
    html = world["client"].get(f"{SITE}/suppliers/stock/").content.decode()
    for header in ("Penawaran", "Gudang", "Stok fisik", "Dipesan", "Tersedia"):
        assert f">{header}<" in html, header
    for english in (">On hand<", ">Reserved<", ">Warehouse<", ">Offer<", ">Available<"):
        assert english not in html


def test_the_warehouse_filter_lists_only_the_members_own_warehouses(world):
    other_supplier_code = world["shop"].pad.offers.get(supplier__legal_name="PT Maju Motor").stocks.get().warehouse.code
    foreign = WarehouseFactory(code="ASING-77")  # a third supplier's warehouse
    StockFactory(warehouse=foreign, offer__supplier=foreign.supplier, on_hand=3)
    own = Stock.objects.get(offer=world["offer"]).warehouse
    response = world["client"].get(f"{SITE}/suppliers/stock/")
    html = response.content.decode()
    assert own.code in html
    assert other_supplier_code not in html and "ASING-77" not in html
    filtered = world["client"].get(f"{SITE}/suppliers/stock/", {"warehouse": own.pk})
    assert [s.warehouse_id for s in filtered.context["cl"].result_list] == [own.pk]
    # another supplier's warehouse id in the URL shows nothing of it
    foreign_view = world["client"].get(f"{SITE}/suppliers/stock/", {"warehouse": foreign.pk})
    assert foreign_view.status_code in (200, 302)
    if foreign_view.status_code == 200:
        assert list(foreign_view.context["cl"].result_list) == []
        assert "ASING-77" not in foreign_view.content.decode()
    operator = Client()
    operator.force_login(OperatorFactory())
    assert "ASING-77" in operator.get(f"{SITE}/suppliers/stock/").content.decode()


def test_the_ledger_names_the_workshop_not_its_members_email(world):
    buyer = world["shop"].buyer
    movement = StockMovement.objects.get(stock__offer=world["offer"], actor=buyer.user)
    client = world["client"]
    for url in (f"{SITE}/suppliers/stockmovement/", f"{SITE}/suppliers/stockmovement/{movement.pk}/change/"):
        html = client.get(url).content.decode()
        assert buyer.user.email not in html, url
        assert buyer.workshop.name in html, url


def test_order_events_in_admin_read_like_the_timeline(world):
    order = world["order"]
    event = OrderEvent.objects.filter(order=order, kind="placed").first()
    assert event is not None
    operator = Client()
    operator.force_login(OperatorFactory())
    listing = operator.get("/admin/orders/orderevent/").content.decode()
    assert "Pesanan dibuat" in listing  # the event's title, as on the timeline
    assert world["shop"].buyer.workshop.name in listing and world["shop"].buyer.user.email not in listing
    page = operator.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "Pesanan dibuat" in page and "1 pesanan pemasok, total Rp" in page


def test_app_names_object_titles_and_buttons_are_indonesian(world):
    client = world["client"]
    index = client.get(f"{SITE}/").content.decode()
    assert ">Pemasok<" in index and ">Pesanan<" in index
    assert ">Suppliers<" not in index and ">Orders<" not in index
    assert "Ekspor" in client.get(f"{SITE}/suppliers/offer/").content.decode()
    movement = StockMovement.objects.get(stock__offer=world["offer"], reason="reservation")
    page = client.get(f"{SITE}/suppliers/stockmovement/{movement.pk}/change/").content.decode()
    assert "Pemesanan: stok fisik +0, dipesan +2" in page
    with translation.override("id"):
        assert str(world["offer"]) == f"{world['offer'].sku} · Bendix DB1234"
