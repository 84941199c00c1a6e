"""The supplier order's PDFs from the outside: the supplier's ERP (label, packing slip), the
workshop's key and its members' browser (the faktur), the supplier admin (label, slip). Each
sees only its own: anybody else's is a 404 like a missing one."""

from __future__ import annotations

import io

import pytest
from drf_spectacular.generators import SchemaGenerator
from pypdf import PdfReader
from rest_framework.test import APIClient

from okto88.models import Scope
from orders.models import SupplierOrderStatus
from tests.orders.documents_data import order_with_supplier_order, supplier_order_set, supplier_with_warehouse
from tests.orders.factories import buyer_make
from tests.platform.factories import ApiClientFactory, issue_api_key
from tests.problems import PROBLEM, assert_problem
from tests.suppliers.factories import SupplierApiClientFactory, SupplierMemberFactory
from workshops.services import workshop_api_client_bind

pytestmark = pytest.mark.django_db
MINE = "/api/v1/suppliers/me/orders/"


def supplier_key(supplier) -> APIClient:
    issued = issue_api_key(scopes=[Scope.ORDERS_READ])
    SupplierApiClientFactory(api_client=issued.api_key.client, supplier=supplier)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    return client


def workshop_key(workshop) -> APIClient:
    api_client = ApiClientFactory()
    workshop_api_client_bind(workshop_id=workshop.pk, api_client=api_client)
    issued = issue_api_key(client=api_client, scopes=[Scope.ORDERS_READ])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    return client


def assert_pdf(response, *, filename: str, pages: int | None = None) -> str:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{filename}"'
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.content))
    if pages is not None:
        assert len(reader.pages) == pages
    return "\n".join(page.extract_text() for page in reader.pages)



@pytest.fixture
def two_suppliers(buyer):
    """Supplier A's and supplier B's supplier orders, each of its own order of the buyer."""
    a, b = supplier_with_warehouse(legal_name="PT A"), supplier_with_warehouse(legal_name="PT B")
    _, so_a = order_with_supplier_order(buyer=buyer, supplier=a)
    _, so_b = order_with_supplier_order(buyer=buyer, supplier=b)
    return a, b, so_a, so_b


def test_a_supplier_prints_its_own_label_and_packing_slip(two_suppliers):
    a, _, so_a, _ = two_suppliers
    so_a = supplier_order_set(so_a, status=SupplierOrderStatus.CONFIRMED, parcels=2, waybill="JX0000000042")
    client = supplier_key(a)

    label = assert_pdf(client.get(f"{MINE}{so_a.number}/label.pdf"), filename=f"label-{so_a.number}.pdf", pages=2)
    assert "JX0000000042" in label and "1/2" in label and "2/2" in label
    slip = assert_pdf(client.get(f"{MINE}{so_a.number}/packing-slip.pdf"),
                      filename=f"packing-slip-{so_a.number}.pdf")
    assert so_a.number in slip and "Packing slip" in slip


def test_another_suppliers_label_and_slip_are_a_404_like_a_missing_one(two_suppliers):
    _, b, so_a, _ = two_suppliers
    supplier_order_set(so_a, status=SupplierOrderStatus.CONFIRMED)
    client = supplier_key(b)
    for document in ("label.pdf", "packing-slip.pdf"):
        theirs = assert_problem(client.get(f"{MINE}{so_a.number}/{document}"), 404, "supplier_order_not_found")
        missing = assert_problem(client.get(f"{MINE}OK-0000-NOPE-1/{document}"), 404, "supplier_order_not_found")
        assert theirs["detail"] == missing["detail"]


def test_documents_before_their_time_are_a_409_problem(two_suppliers):
    a, _, so_a, _ = two_suppliers
    client = supplier_key(a)
    assert_problem(client.get(f"{MINE}{so_a.number}/label.pdf"), 409, "label_not_ready")  # pending
    assert_problem(client.get(f"{MINE}{so_a.number}/packing-slip.pdf"), 409, "packing_slip_not_available")
    supplier_order_set(so_a, status=SupplierOrderStatus.READY_TO_SHIP)
    assert_problem(client.get(f"{MINE}{so_a.number}/label.pdf"), 409, "label_not_ready")
    assert client.get(f"{MINE}{so_a.number}/packing-slip.pdf").status_code == 200


def test_a_workshop_key_gets_its_orders_faktur_and_another_workshop_a_404(buyer, two_suppliers):
    _, _, so_a, so_b = two_suppliers
    so_a = supplier_order_set(so_a, status=SupplierOrderStatus.ACCEPTED)
    url = f"/api/v1/orders/{so_a.order.number}/invoices/{so_a.number}.pdf"

    text = assert_pdf(workshop_key(buyer.workshop).get(url), filename=f"invoice-{so_a.number}.pdf")
    assert f"INV/{so_a.number}" in text and buyer.workshop.npwp in text

    assert_problem(workshop_key(buyer_make().workshop).get(url), 404, "order_not_found")
    # Another supplier order than the order's own (here: one of another order of the same workshop).
    assert_problem(workshop_key(buyer.workshop).get(f"/api/v1/orders/{so_a.order.number}/invoices/{so_b.number}.pdf"),
                   404, "supplier_order_not_found")


def test_the_faktur_before_acceptance_is_a_409_problem_and_a_supplier_key_a_403(buyer, two_suppliers):
    a, _, so_a, _ = two_suppliers
    url = f"/api/v1/orders/{so_a.order.number}/invoices/{so_a.number}.pdf"
    assert_problem(workshop_key(buyer.workshop).get(url), 409, "invoice_not_available")
    assert_problem(supplier_key(a).get(url), 403, "no_workshop")


def test_the_order_page_links_the_faktur_once_accepted_and_only_the_workshop_may_open_it(client, buyer,
                                                                                          two_suppliers):
    _, _, so_a, so_b = two_suppliers
    so_a = supplier_order_set(so_a, status=SupplierOrderStatus.ACCEPTED)
    url = f"/bengkel/orders/{so_a.order.number}/invoices/{so_a.number}.pdf"
    client.force_login(buyer.user)

    page = client.get(f"/bengkel/orders/{so_a.order.number}/").content.decode()
    assert f'href="{url}"' in page
    pending_page = client.get(f"/bengkel/orders/{so_b.order.number}/").content.decode()
    assert "invoices/" not in pending_page  # B has not accepted yet
    assert_pdf(client.get(url), filename=f"invoice-{so_a.number}.pdf")
    # Not accepted yet: back to the order with a message.
    pending = client.get(f"/bengkel/orders/{so_b.order.number}/invoices/{so_b.number}.pdf")
    assert pending.status_code == 302 and pending["Location"] == f"/bengkel/orders/{so_b.order.number}/"

    client.force_login(buyer_make().user)
    assert client.get(url).status_code == 404


def test_the_supplier_admin_links_and_serves_only_the_suppliers_own_documents(client, two_suppliers):
    a, b, so_a, _ = two_suppliers
    so_a = supplier_order_set(so_a, status=SupplierOrderStatus.CONFIRMED, parcels=1)
    base = f"/supplier-admin/orders/supplierorder/{so_a.pk}"
    client.force_login(SupplierMemberFactory(supplier=a).user)

    listing = client.get("/supplier-admin/orders/supplierorder/").content.decode()
    assert f'href="{base}/label.pdf"' in listing and f'href="{base}/packing-slip.pdf"' in listing
    assert_pdf(client.get(f"{base}/label.pdf"), filename=f"label-{so_a.number}.pdf", pages=1)
    assert_pdf(client.get(f"{base}/packing-slip.pdf"), filename=f"packing-slip-{so_a.number}.pdf")

    client.force_login(SupplierMemberFactory(supplier=b).user)
    assert client.get(f"{base}/label.pdf").status_code == 404
    assert client.get(f"{base}/packing-slip.pdf").status_code == 404


def test_the_supplier_admin_shows_no_label_link_before_the_courier_is_booked(client, two_suppliers):
    a, _, so_a, _ = two_suppliers
    so_a = supplier_order_set(so_a, status=SupplierOrderStatus.ACCEPTED)
    base = f"/supplier-admin/orders/supplierorder/{so_a.pk}"
    client.force_login(SupplierMemberFactory(supplier=a).user)

    page = client.get(f"{base}/change/").content.decode()
    assert f'href="{base}/packing-slip.pdf"' in page and f'href="{base}/label.pdf"' not in page
    response = client.get(f"{base}/label.pdf")
    assert response.status_code == 302 and response["Location"] == f"{base}/change/"


def test_the_openapi_document_describes_the_pdfs():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in ("/api/v1/suppliers/me/orders/{number}/label.pdf",
                 "/api/v1/suppliers/me/orders/{number}/packing-slip.pdf",
                 "/api/v1/orders/{number}/invoices/{supplier_order_number}.pdf"):
        responses = paths[path]["get"]["responses"]
        assert responses["200"]["content"]["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
        assert "409" in responses and PROBLEM in responses["404"]["content"], path
