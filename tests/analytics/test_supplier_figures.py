"""A supplier's own figures in the supplier admin: its numbers, nobody else's; a workshop member
is refused. And demand without supply, counted where a real search decides its results."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from analytics.periods import period_parse
from analytics.selectors.demand import demand_figures
from analytics.services import rollups_flush, sales_days_refresh_changed
from catalog.selectors import DEMAND_QUERY_MAX_LENGTH, part_search
from okto88 import recording
from tests.analytics.sales_data import sales_data_make
from tests.catalog.factories import BrandFactory, CategoryFactory, PartFactory
from tests.orders.ui_data import shop_make
from tests.platform.factories import OperatorFactory
from tests.suppliers.factories import SupplierMemberFactory

pytestmark = pytest.mark.django_db

PAGE = "/supplier-admin/analytics/salesday/"


@pytest.fixture
def data():
    data = sales_data_make()
    sales_days_refresh_changed()
    return data


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_a_member_sees_its_own_figures_and_not_another_suppliers(data):
    client = logged_in(SupplierMemberFactory(supplier=data.a).user)
    page = client.get(PAGE, {"period": "7d"}, HTTP_ACCEPT_LANGUAGE="id")
    assert page.status_code == 200
    text = page.content.decode()
    # A's GMV is o1's 2 × PA with PPN (222,000); B's (277,500) and the platform's (499,500) are not shown.
    assert "Rp 222.000" in text
    assert "Rp 277.500" not in text and "Rp 499.500" not in text
    assert data.b.legal_name not in text
    # Drawn by the operators' chart script from the figure's JSON, which holds A's numbers only.
    assert 'data-figure-json="figure-data-sales_by_day"' in text and "js/ops-charts.js" in text
    assert page.context["figures"][0].key == "sales_by_day"
    # The same figure as CSV (the operators' export): today's row has A's numbers.
    response = client.get(PAGE, {"period": "7d", "csv": "sales_by_day"})
    assert response["Content-Disposition"].startswith('attachment; filename="okto88-supplier-')
    rows = csv_rows(response)
    today = [row for row in rows[1:] if row[0] == timezone.localdate().isoformat()]
    assert today and today[0][1:5] == ["3", "1", "222000", "222000"]  # placed, in GMV, GMV, AOV
    parts = csv_rows(client.get(PAGE, {"period": "7d", "csv": "top_parts"}))
    assert [row[3:] for row in parts[1:]] == [["2", "222000"]]
    # Another supplier's member sees B's numbers on the same page.
    other = logged_in(SupplierMemberFactory(supplier=data.b).user)
    rows = csv_rows(other.get(PAGE, {"period": "7d", "csv": "sales_by_day"}))
    today = [row for row in rows[1:] if row[0] == timezone.localdate().isoformat()]
    assert today[0][1:4] == ["3", "2", "277500"]


def test_a_member_cannot_ask_for_another_supplier(data):
    client = logged_in(SupplierMemberFactory(supplier=data.a).user)
    rows = csv_rows(client.get(PAGE, {"period": "7d", "csv": "top_parts", "supplier": data.b.pk}))
    assert [row[3:] for row in rows[1:]] == [["2", "222000"]]  # still A's


def test_the_page_is_linked_from_the_supplier_admin_index(data):
    client = logged_in(SupplierMemberFactory(supplier=data.a).user)
    assert PAGE in client.get("/supplier-admin/").content.decode()


def test_a_workshop_member_is_refused(data):
    response = logged_in(data.buyer1.user).get(PAGE)
    assert response.status_code == 302 and "/supplier-admin/login/" in response["Location"]
    assert "222" not in response.content.decode()


def test_an_operator_chooses_the_supplier(data):
    client = logged_in(OperatorFactory())
    rows = csv_rows(client.get(PAGE, {"period": "7d", "csv": "top_parts", "supplier": data.b.pk}))
    assert [row[3:] for row in rows[1:]] == [["5", "277500"]]  # B: o1's 3 × PB and o5's 2 × PB
    page = client.get(PAGE, {"period": "7d", "supplier": data.b.pk}).content.decode()
    assert f'<option value="{data.b.pk}" selected>' in page and "Rp 277.500" in page and "Rp 222.000" not in page


def test_a_bad_period_is_a_message_and_the_default_period(data):
    client = logged_in(SupplierMemberFactory(supplier=data.a).user)
    page = client.get(PAGE, {"start": "2026-13-01", "end": "2026-01-01"})
    assert page.status_code == 200
    assert "Isi kedua tanggal dengan format YYYY-MM-DD." in page.content.decode()
    assert page.context["period"].name == "30d"
    # A preset the page does not offer (its choice would show 7 days over an hour's figures).
    for name in ("1h", "24h", "2w"):
        page = client.get(PAGE, {"period": name})
        assert "Periode tidak dikenal; pilih salah satu dari 7d, 30d." in page.content.decode()
        assert page.context["period"].name == "30d" and page.context["period_name"] == "30d"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the language switch's choice
    page = client.get(PAGE, {"start": "2026-13-01", "end": "2026-01-01"})
    assert "Give both dates as YYYY-MM-DD." in page.content.decode()


# --- Demand without supply ----------------------------------------------------------------


@pytest.fixture
def counted(monkeypatch):
    """Every count the searches make, passed on to the real recording (buffer → Redis → Rollup)."""
    calls = []
    real_count = recording.count

    def count(kind, labels, n=1):
        calls.append((kind, tuple(labels), n))
        real_count(kind, labels, n)

    monkeypatch.setattr(recording, "count", count)
    return calls


def test_searches_without_supply_are_counted_from_real_search_requests(counted):
    shop = shop_make()
    plugs = CategoryFactory(name_id="Busi", name_en="Spark plugs", slug="busi")
    ngk = BrandFactory(name="NGK", slug="ngk")
    PartFactory(brand=ngk, category=plugs, number="BKR6EIX", name_id="Busi Iridium", name_en="Iridium plug")
    client = logged_in(shop.buyer.user)
    for q in ("  Busi   IRIDIUM ", "busi iridium", "ZZ-99999-Q", "DB1234"):
        assert client.get("/bengkel/parts/", {"q": q}).status_code == 200
    # DB1234 has offers: not counted. The iridium plug has none; ZZ-99999-Q matched nothing.
    assert counted == [
        ("demand", ("no_offer", str(plugs.pk), str(ngk.pk), "busi iridium"), 1),
        ("demand", ("no_offer", str(plugs.pk), str(ngk.pk), "busi iridium"), 1),
        ("demand", ("no_match", "", "", "ZZ99999Q"), 1),
    ]
    recording.recording_flush()
    rollups_flush(now=time.time() + 600)  # every minute of the test complete
    period = period_parse({"period": "24h"}, now=timezone.now() + dt.timedelta(hours=1))
    by_category, top = demand_figures(period=period)
    assert by_category.rows == [
        {"reason": "Ditemukan, tetapi tidak ada penawaran", "category": "Busi", "brand": "NGK", "searches": 2},
        {"reason": "Nomor part tidak ditemukan", "category": "(semua)", "brand": "(semua)", "searches": 1},
    ]
    assert [(row["query"], row["searches"]) for row in top.rows] == [("busi iridium", 2), ("ZZ99999Q", 1)]


def test_a_long_search_is_counted_cut_to_its_bound(counted):
    shop = shop_make()
    words = " ".join(["kampas"] * 40)  # parts on offer: not counted
    assert logged_in(shop.buyer.user).get("/bengkel/parts/", {"q": "9" * 150}).status_code == 200
    part_search(q=words)  # the API's and the page's one search, called as they call it
    assert [labels[0] for _kind, labels, _n in counted] == ["no_match"]
    assert len(counted[0][1][3]) == DEMAND_QUERY_MAX_LENGTH  # the page cuts q to 100, the count to 100
