"""Feed import admin: upload for the member's own supplier, read-only, scoped downloads."""

from __future__ import annotations

import pytest

from suppliers.models import FeedImport
from tests.platform.factories import OperatorFactory
from tests.suppliers.factories import SupplierFactory, SupplierMemberFactory
from tests.suppliers_feeds.conftest import HEADER, csv_upload, run_feed

pytestmark = pytest.mark.django_db
SITE = "/supplier-admin/suppliers/feedimport"
OPS = "/admin/suppliers/feedimport"


def test_member_uploads_for_their_own_supplier_and_sees_progress(client, world):
    other = SupplierFactory()
    client.force_login(world.member)
    form = client.get(f"{SITE}/add/")
    assert form.status_code == 200 and b'name="supplier"' not in form.content
    response = client.post(f"{SITE}/add/", {"file": csv_upload(f"{HEADER}\n"), "supplier": other.pk})
    assert response.status_code == 302
    feed = FeedImport.objects.get()
    assert feed.supplier == world.supplier and feed.created_by == world.member
    page = client.get(f"{SITE}/{feed.pk}/change/")
    assert page.status_code == 200 and b'http-equiv="refresh"' in page.content  # pending: refreshes
    assert b'name="file"' not in page.content  # read-only after upload


def test_list_shows_counts_and_report_link(client, world):
    feed = run_feed(world.supplier, csv_upload(f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,12,0\nBR-2,X,Y,1,1,,\n"))
    client.force_login(world.member)
    listing = client.get(f"{SITE}/")
    assert listing.status_code == 200
    assert b"2 / 2" in listing.content and f"{feed.pk}/report/".encode() in listing.content
    report = client.get(f"{SITE}/{feed.pk}/report/")
    assert report.status_code == 200 and b"part_number" in b"".join(report.streaming_content)
    detail = client.get(f"{SITE}/{feed.pk}/change/")
    assert b"No catalog part matches" in detail.content


def test_member_never_sees_another_suppliers_feed(client, world):
    other = SupplierFactory()
    feed_b = run_feed(other, csv_upload(f"{HEADER}\nBR-1,X,Y,1,1,,\n", name="rahasia.csv"))
    client.force_login(world.member)
    assert b"rahasia.csv" not in client.get(f"{SITE}/").content
    for url in (f"{SITE}/{feed_b.pk}/change/", f"{SITE}/{feed_b.pk}/report/", f"{SITE}/{feed_b.pk}/file/",
                f"{SITE}/{feed_b.pk}/delete/", f"{SITE}/{feed_b.pk}/history/"):
        assert client.get(url).status_code in (403, 404), url
    assert client.get(f"{SITE}/{feed_b.pk}/report/").status_code == 404
    # Members are not staff: the operator admin is closed to them.
    assert client.get(f"{OPS}/").status_code == 302


def test_operator_uploads_for_a_chosen_supplier(client, world):
    client.force_login(OperatorFactory())
    response = client.post(f"{OPS}/add/", {"file": csv_upload(f"{HEADER}\n"), "supplier": world.supplier.pk})
    assert response.status_code == 302, response.content[:2000]
    assert FeedImport.objects.get().supplier == world.supplier
    other_member = SupplierMemberFactory().user
    assert other_member.pk != world.member.pk
    assert client.get(f"{OPS}/").status_code == 200


@pytest.mark.parametrize(("language", "expected", "prices"), [
    ("en", "one stock_&lt;warehouse code&gt; column per warehouse", "Prices are whole rupiah: 189000, 189.000"),
    ("id", "satu kolom stock_&lt;kode gudang&gt; per gudang", "Harga dalam rupiah bulat: 189000, 189.000"),
])
def test_upload_help_names_the_stock_columns(client, world, settings, language, expected, prices):
    # Admin renders help texts as HTML: unescaped, "<kode gudang>" was a tag and showed "stock_ per gudang".
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(world.member)
    page = client.get(f"{SITE}/add/").content.decode()
    assert expected in page and prices in page
    assert "stock_ per" not in page.replace("\n", " ")


def test_a_failed_or_partial_import_is_shown_as_such(client, world):
    failed = run_feed(world.supplier, csv_upload("sku;merk;price\nA;B;1\n"))
    partial = run_feed(world.supplier, csv_upload(
        f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,12,0\nBR-2,X,Y,1,1,,\n"))
    client.force_login(world.member)
    page = client.get(f"{SITE}/{failed.pk}/change/").content.decode()
    assert "stock_&lt;warehouse code&gt;" in page  # the header the error names, not an HTML tag
    listing = client.get(f"{SITE}/").content.decode()
    assert ">Partly applied</strong>" in listing and ">Failed</strong>" in listing
    assert ">Succeeded</strong>" not in listing  # ("Succeeded" is still a choice of the status filter)
    assert partial.status == "partial"
