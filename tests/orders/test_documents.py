"""A supplier order's PDFs (orders.documents), read back as text with pypdf: the faktur's
parties and figures, the label's pages and waybill, the packing slip's lines, and when each
document may not be printed yet."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from orders import documents
from orders.errors import InvoiceNotAvailable, LabelNotReady, PackingSlipNotAvailable
from orders.models import Order, SupplierOrder, SupplierOrderStatus
from tests.orders.documents_data import order_with_supplier_order, supplier_order_set, supplier_with_warehouse

pytestmark = pytest.mark.django_db

SUPPLIER_NPWP = "0123456789012000"
WORKSHOP_NPWP = "0987654321098000"
BEFORE_ACCEPTANCE = [SupplierOrderStatus.PENDING, SupplierOrderStatus.REJECTED, SupplierOrderStatus.CANCELLED]
AFTER_ACCEPTANCE = [SupplierOrderStatus.ACCEPTED, SupplierOrderStatus.READY_TO_SHIP, SupplierOrderStatus.CONFIRMED,
                    SupplierOrderStatus.SHIPPED, SupplierOrderStatus.DELIVERED]


def pdf_pages(content: bytes) -> list[str]:
    assert content.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def pdf_title(content: bytes) -> str:
    return PdfReader(io.BytesIO(content)).metadata.title


@pytest.fixture
def supplier_order(buyer) -> SupplierOrder:
    """Lines (data.LINES): 2 × Rp 150.000 all accepted; 3 × Rp 45.500 of which 1 rejected;
    1 × Rp 99.000 rejected. Shipping Rp 18.050, so DPP ends in 50 and 11 % of it in half a rupiah."""
    buyer.workshop.npwp = WORKSHOP_NPWP
    buyer.workshop.save(update_fields=["npwp"])
    _, supplier_order = order_with_supplier_order(
        buyer=buyer, supplier=supplier_with_warehouse(legal_name="PT Maju & Jaya Parts", npwp=SUPPLIER_NPWP))
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(shipping_cost=18_050)
    return supplier_order


def test_the_faktur_bills_the_accepted_quantities_with_shipping_and_ppn_at_the_orders_rate(buyer, supplier_order):
    supplier_order = supplier_order_set(supplier_order, status=SupplierOrderStatus.ACCEPTED)

    content = documents.tax_invoice_pdf(supplier_order=supplier_order)

    (text,) = pdf_pages(content)
    assert "FAKTUR" in text
    assert f"INV/{supplier_order.number}" in text and supplier_order.order.number in text
    assert "4 Desember 2026" in text  # the day the supplier accepted, in Jakarta
    assert "PT Maju & Jaya Parts" in text and SUPPLIER_NPWP in text
    assert buyer.workshop.name in text and WORKSHOP_NPWP in text and "Jl. Ahmad Yani No. 12" in text
    # 2 × 150.000 + (3 − 1) × 45.500; the rejected 99.000 is not billed.
    assert "Rp 300.000" in text and "Rp 91.000" in text and "Rp 99.000" not in text
    assert "Rp 391.000" in text  # goods
    assert "Rp 18.050" in text  # shipping
    assert "Dasar Pengenaan Pajak (DPP)" in text and "Rp 409.050" in text
    assert "PPN 11%" in text and "Rp 44.996" in text  # 44.995,5 rounded half up
    assert "Rp 454.046" in text
    assert pdf_title(content) == f"Faktur INV/{supplier_order.number}"


def test_the_faktur_takes_the_orders_own_ppn_rate(supplier_order):
    Order.objects.filter(pk=supplier_order.order_id).update(tax_rate_bp=1200)
    supplier_order = supplier_order_set(supplier_order, status=SupplierOrderStatus.SHIPPED)

    (text,) = pdf_pages(documents.tax_invoice_pdf(supplier_order=supplier_order))

    assert "PPN 12%" in text and "Rp 49.086" in text and "Rp 458.136" in text


def test_the_label_has_one_page_per_parcel_with_the_courier_the_waybill_and_both_addresses(buyer, supplier_order):
    supplier_order = supplier_order_set(supplier_order, status=SupplierOrderStatus.CONFIRMED, parcels=3,
                                        waybill="JX0012345678")

    content = documents.shipping_label_pdf(supplier_order=supplier_order)

    pages = pdf_pages(content)
    assert len(pages) == 3
    carrier = supplier_order.shipment.carrier.name
    for index, text in enumerate(pages, start=1):
        assert "JX0012345678" in text and f"{index}/3" in text and "PAKET" in text
        assert carrier in text and supplier_order.service_level.upper() in text
        assert buyer.workshop.name in text and "+6281234567890" in text and "Bekasi Selatan, Kota Bekasi" in text
        assert "PT Maju & Jaya Parts" in text and "Jl. Panglima Polim No. 10" in text
        assert supplier_order.number in text
    assert pdf_title(content) == f"Label pengiriman {supplier_order.number}"


def test_the_packing_slip_lists_what_to_pack_and_the_rejected_lines_apart(supplier_order):
    supplier_order = supplier_order_set(supplier_order, status=SupplierOrderStatus.READY_TO_SHIP, parcels=2)
    lines = list(supplier_order.lines.order_by("pk"))

    (text,) = pdf_pages(documents.packing_slip_pdf(supplier_order=supplier_order))

    assert supplier_order.number in text and supplier_order.order.number in text
    rejected_at = text.index("Rejected lines")
    packed, rejected = text[:rejected_at], text[rejected_at:]
    assert lines[0].sku in packed and lines[1].sku in packed and lines[2].sku not in packed
    assert lines[2].sku in rejected and lines[1].sku in rejected and lines[0].sku not in rejected
    assert rejected.count("Stok habis / Out of stock") == 2
    assert "Total: 4 unit dalam 2 koli" in packed  # 2 + (3 − 1) units


@pytest.mark.parametrize("status", AFTER_ACCEPTANCE)
def test_the_slip_and_the_faktur_exist_from_acceptance_on(supplier_order, status):
    supplier_order = supplier_order_set(supplier_order, status=status)
    assert pdf_pages(documents.packing_slip_pdf(supplier_order=supplier_order))
    assert pdf_pages(documents.tax_invoice_pdf(supplier_order=supplier_order))


@pytest.mark.parametrize("status", BEFORE_ACCEPTANCE)
def test_no_slip_nor_faktur_before_acceptance_nor_after_a_rejection_or_cancellation(supplier_order, status):
    supplier_order = supplier_order_set(supplier_order, status=status)
    with pytest.raises(PackingSlipNotAvailable) as slip:
        documents.packing_slip_pdf(supplier_order=supplier_order)
    with pytest.raises(InvoiceNotAvailable) as invoice:
        documents.tax_invoice_pdf(supplier_order=supplier_order)
    assert (slip.value.code, slip.value.status) == ("packing_slip_not_available", 409)
    assert (invoice.value.code, invoice.value.status) == ("invoice_not_available", 409)


@pytest.mark.parametrize("status", [*BEFORE_ACCEPTANCE, SupplierOrderStatus.ACCEPTED,
                                    SupplierOrderStatus.READY_TO_SHIP])
def test_no_label_before_the_courier_is_booked(supplier_order, status):
    supplier_order = supplier_order_set(supplier_order, status=status)
    with pytest.raises(LabelNotReady) as error:
        documents.shipping_label_pdf(supplier_order=supplier_order)
    assert (error.value.code, error.value.status) == ("label_not_ready", 409)


def test_the_same_rows_give_the_same_bytes(supplier_order):
    supplier_order = supplier_order_set(supplier_order, status=SupplierOrderStatus.CONFIRMED)
    for render in (documents.shipping_label_pdf, documents.packing_slip_pdf, documents.tax_invoice_pdf):
        assert render(supplier_order=supplier_order) == render(supplier_order=supplier_order), render.__name__


def test_names_outside_latin_1_still_print(buyer, supplier_order):
    buyer.workshop.name = "Bengkel Şahin – 東京"
    buyer.workshop.save(update_fields=["name"])
    supplier_order = supplier_order_set(supplier_order, status=SupplierOrderStatus.ACCEPTED)

    (text,) = pdf_pages(documents.tax_invoice_pdf(supplier_order=supplier_order))

    assert "Bengkel Sahin - ??" in text
