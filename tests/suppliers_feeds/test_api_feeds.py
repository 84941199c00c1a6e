"""The feed API from the outside: upload → 202 + Location, status with counts, scoping."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from okto88.models import Scope
from suppliers import feeds
from suppliers.models import FeedImport, FeedStatus, Offer
from tests.platform.factories import ApiClientFactory, OperatorFactory, issue_api_key
from tests.problems import assert_problem
from tests.suppliers.factories import SupplierApiClientFactory, SupplierFactory, SupplierMemberFactory
from tests.suppliers_feeds.conftest import HEADER, csv_upload, run_feed

pytestmark = pytest.mark.django_db
FEEDS = "/api/v1/suppliers/me/feeds/"


def api_for(supplier=None, scopes=(Scope.STOCK_WRITE,)) -> APIClient:
    api_client = ApiClientFactory()
    if supplier is not None:
        SupplierApiClientFactory(api_client=api_client, supplier=supplier)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issue_api_key(client=api_client, scopes=list(scopes)).raw_key}")
    return client



def test_upload_returns_202_with_location_then_status_shows_counts(world, django_capture_on_commit_callbacks):
    api = api_for(world.supplier)
    content = f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,12,0\nBR-2,Toyota,nope,1,1,1,1\n"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post(FEEDS, {"file": csv_upload(content)}, format="multipart")

    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == body["url"] and body["url"].endswith(f"{FEEDS}{body['id']}/")
    assert body["status"] == "pending" and body["original_name"] == "feed.csv"
    assert len(callbacks) == 1  # the task is enqueued after commit
    feed_import = FeedImport.objects.get(pk=body["id"])
    assert feed_import.supplier == world.supplier and feed_import.created_by is None

    feeds.feed_import_run(feed_import=feed_import)  # what the worker does
    detail = api.get(response["Location"]).json()
    assert detail["status"] == "partial"  # one row of two was rejected
    assert (detail["rows_total"], detail["rows_done"], detail["rows_rejected"]) == (2, 2, 1)
    assert (detail["offers_changed"], detail["stock_changed"]) == (1, 1)
    assert detail["rows_per_second"] is not None
    assert detail["errors"] == [{"row": 3, "column": "part_number", "value": "nope",
                                 "message": detail["errors"][0]["message"]}]
    report = api.get(detail["errors_report_url"])
    assert report.status_code == 200 and report["Content-Type"] == "text/csv"
    assert b"row,column,value,message" in b"".join(report.streaming_content)


def test_failed_import_shows_the_file_error(world):
    feed = run_feed(world.supplier, csv_upload(b"sku,price\nA,1\n"))
    detail = api_for(world.supplier).get(f"{FEEDS}{feed.pk}/").json()
    assert detail["status"] == "failed" and "The first line must be" in detail["error"]
    assert detail["errors_report_url"] is None


def test_supplier_member_session_can_upload(world, django_capture_on_commit_callbacks):
    client = APIClient()
    client.force_login(world.member)
    response = client.post(FEEDS, {"file": csv_upload(f"{HEADER}\n")}, format="multipart")
    assert response.status_code == 202
    assert FeedImport.objects.get().created_by == world.member


def test_upload_needs_a_file_and_multipart(world):
    api = api_for(world.supplier)
    assert_problem(api.post(FEEDS, {}, format="multipart"), 400, "validation_error")
    assert_problem(api.post(FEEDS, {"file": "x"}, format="json"), 415, "unsupported_media_type")
    pdf = SimpleUploadedFile("feed.pdf", b"%PDF-1.4", content_type="application/pdf")
    assert_problem(api.post(FEEDS, {"file": pdf}, format="multipart"), 415, "feed_file_unsupported")
    assert not FeedImport.objects.exists()


def test_a_file_sent_as_csv_is_taken_whatever_its_name(world):
    # An ERP may name its export "export" or "stock.dat": the part's media type says what it is.
    api = api_for(world.supplier)
    upload = SimpleUploadedFile("export", b"sku,price\n", content_type="text/csv")
    response = api.post(FEEDS, {"file": upload}, format="multipart")
    assert response.status_code == 202, response.content


def test_an_empty_file_is_taken_and_its_import_fails_saying_so(world):
    api = api_for(world.supplier)
    response = api.post(FEEDS, {"file": csv_upload(b"")}, format="multipart")
    assert response.status_code == 202, response.content
    feeds.feed_import_run(feed_import=FeedImport.objects.get(pk=response.json()["id"]))
    detail = api.get(response["Location"]).json()
    assert detail["status"] == "failed" and detail["error"] in ("Berkas kosong.", "The file is empty.")


@pytest.mark.parametrize("who", ["unbound_key", "operator", "plain_user"])
def test_callers_without_a_supplier_get_no_supplier(world, who):
    if who == "unbound_key":
        client = api_for(None)
    else:
        client = APIClient()
        client.force_login(OperatorFactory() if who == "operator" else SupplierMemberFactory().user)
        if who == "plain_user":
            from tests.platform.factories import UserFactory

            client.force_login(UserFactory())
    response = client.post(FEEDS, {"file": csv_upload(f"{HEADER}\n")}, format="multipart")
    if who == "plain_user":
        assert response.status_code == 403  # lacks the stock:write scope already
    else:
        assert_problem(response, 403, "no_supplier")
    assert not FeedImport.objects.exists()


def test_missing_scope_is_refused(world):
    response = api_for(world.supplier, scopes=[Scope.CATALOG_READ]).get(f"{FEEDS}1/")
    assert_problem(response, 403, "insufficient_scope")


def test_another_suppliers_feed_is_404_and_uploads_land_on_the_callers_supplier(world):
    other = SupplierFactory()
    feed_b = run_feed(other, csv_upload(f"{HEADER}\nBR-1,Toyota,nope,1,1,,\n"))
    api_a = api_for(world.supplier)
    member_a = APIClient()
    member_a.force_login(world.member)
    for client in (api_a, member_a):
        assert_problem(client.get(f"{FEEDS}{feed_b.pk}/"), 404, "feed_import_not_found")
        assert_problem(client.get(f"{FEEDS}{feed_b.pk}/report/"), 404, "feed_import_not_found")
        assert_problem(client.get(f"{FEEDS}999999/"), 404, "feed_import_not_found")
    # "supplier" in the body is ignored: the upload is always for the caller's own supplier.
    response = api_a.post(FEEDS, {"file": csv_upload(f"{HEADER}\n"), "supplier": other.pk}, format="multipart")
    assert response.status_code == 202
    assert FeedImport.objects.get(pk=response.json()["id"]).supplier == world.supplier
    assert FeedImport.objects.filter(supplier=other).count() == 1
    assert not Offer.objects.exists()
    feed_b.refresh_from_db()
    assert feed_b.status == FeedStatus.FAILED  # its one row was rejected


def test_schema_documents_the_endpoints(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/suppliers/me/feeds/" in schema and "supplier_feeds_create" in schema
