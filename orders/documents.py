"""A supplier order's documents as PDF: the shipping label (one page per parcel), the packing
slip and the faktur (the supplier's invoice to the workshop, with PPN).

Pure rendering from the rows: nothing here writes. Each document exists from a point of the
supplier order's life on; before it (or after a rejection or a cancellation) its function raises
a Conflict with a stable code (orders.errors): a label once the courier is booked (a waybill
to print), a packing slip and a faktur once the supplier has accepted.

The wording is fixed, not the reader's language: these are printed, travel with the parcel or
go into the workshop's books. The faktur is in Indonesian (a tax document); the label and the
slip say each thing in Indonesian with English beside it, for couriers and packers alike.
Money is written by okto88.money.rupiah; PPN is computed by orders.services.pricing.order_totals,
the one home of its rounding. Times are shown in Asia/Jakarta (WIB).

The PDFs use the standard Helvetica (Latin-1, no font file to ship); a character it cannot
print is replaced by its closest Latin letter or "?". They are rendered `invariant` (no creation
time, fixed document id): the same rows give the same bytes.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable
from xml.sax.saxutils import escape

from django.http import HttpResponse
from django.utils import timezone, translation
from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from okto88.money import rupiah
from orders.errors import InvoiceNotAvailable, LabelNotReady, PackingSlipNotAvailable
from orders.models import OrderLine, SupplierOrder, SupplierOrderStatus
from orders.services.pricing import order_totals

# A label once the courier is booked (the waybill exists); the slip and the faktur once the
# supplier has accepted, as long as the supplier order was not rejected or cancelled.
LABEL_STATUSES = frozenset({SupplierOrderStatus.CONFIRMED, SupplierOrderStatus.SHIPPED,
                            SupplierOrderStatus.DELIVERED})
ACCEPTED_STATUSES = frozenset({SupplierOrderStatus.ACCEPTED, SupplierOrderStatus.READY_TO_SHIP,
                               *LABEL_STATUSES})
PACKING_SLIP_STATUSES = ACCEPTED_STATUSES
INVOICE_STATUSES = ACCEPTED_STATUSES

LABEL_SIZE = (100 * mm, 150 * mm)
AUTHOR = "okto88"
MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
             "November", "Desember")
INK = colors.black
RULE = colors.HexColor("#9ca3af")
SHADE = colors.HexColor("#eef0f3")


# --- What may be printed when --------------------------------------------------------------

def label_available(*, supplier_order: SupplierOrder) -> bool:
    return supplier_order.status in LABEL_STATUSES and bool(_waybill(supplier_order))


def packing_slip_available(*, supplier_order: SupplierOrder) -> bool:
    return supplier_order.status in PACKING_SLIP_STATUSES


def invoice_available(*, supplier_order: SupplierOrder) -> bool:
    return supplier_order.status in INVOICE_STATUSES


def invoice_number(*, supplier_order: SupplierOrder) -> str:
    return f"INV/{supplier_order.number}"


# --- The HTTP answer every interface gives -----------------------------------------------------

def pdf_response(*, content: bytes, kind: str, number: str) -> HttpResponse:
    """`content` shown in the browser (inline) as `<kind>-<number>.pdf`; kept out of shared caches
    (the documents name people, addresses and NPWPs)."""
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", f"{kind}-{number}.pdf")
    return HttpResponse(content, content_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{filename}"',
        "Cache-Control": "private, no-store",
    })


# --- Text helpers ------------------------------------------------------------------------------

def _latin(text: object) -> str:
    """What Helvetica can print: Latin-1 as is, accents kept; other letters by their base letter
    where Unicode has one (Ş → S), else "?"."""
    out = []
    for char in str(text or ""):
        if ord(char) < 256:
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(base or ("-" if unicodedata.category(char) == "Pd" else "?"))
    return "".join(out)


def _p(text: object) -> str:
    """Text for a Paragraph: printable, with &, < and > escaped (J&T Express is a courier)."""
    return escape(_latin(text))


def _join(parts: Iterable[object], sep: str = ", ") -> str:
    return sep.join(str(p).strip() for p in parts if p and str(p).strip())


def _date_id(value) -> str:
    """6 Desember 2026, in Jakarta time."""
    local = timezone.localtime(value)
    return f"{local.day} {MONTHS_ID[local.month - 1]} {local.year}"


def _datetime_id(value) -> str:
    local = timezone.localtime(value)
    return f"{_date_id(value)}, {local:%H:%M} WIB"


def _kg(weight_g: int) -> str:
    """1250 → '1,25 kg' (Indonesian decimal comma)."""
    text = f"{weight_g / 1000:.2f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')} kg"


def _rate(rate_bp: int) -> str:
    """1100 → '11%', 1150 → '11,5%'."""
    whole, rest = divmod(rate_bp, 100)
    return f"{whole}%" if not rest else f"{whole},{rest:02d}".rstrip("0") + "%"


def _waybill(supplier_order: SupplierOrder) -> str:
    shipment = supplier_order.shipment
    return (shipment.waybill or "") if shipment is not None else ""


def _carrier_name(supplier_order: SupplierOrder) -> str:
    shipment = supplier_order.shipment
    if shipment is not None and shipment.carrier_id:
        return shipment.carrier.name
    return supplier_order.carrier_code.upper()


def _ship_to_lines(supplier_order: SupplierOrder) -> list[str]:
    address = supplier_order.order.delivery_address or {}
    return [line for line in (
        address.get("street", ""),
        _join([address.get("district", ""), address.get("city", "")]),
        _join([address.get("province", ""), address.get("postal_code", "")], sep=" "),
    ) if line]


def _warehouse_lines(supplier_order: SupplierOrder) -> list[str]:
    wh = supplier_order.warehouse
    return [line for line in (
        wh.address_line,
        _join([wh.district, wh.city]),
        _join([wh.province, wh.postal_code], sep=" "),
    ) if line]


def _reason(line: OrderLine) -> str:
    """The rejection reason in Indonesian and English ("Stok habis / Out of stock")."""
    if not line.rejection_reason:
        return "-"
    with translation.override("en"):
        english = line.get_rejection_reason_display()
    with translation.override("id"):
        indonesian = line.get_rejection_reason_display()
    return english if indonesian == english else f"{indonesian} / {english}"


def _lines(supplier_order: SupplierOrder) -> list[OrderLine]:
    return sorted(supplier_order.lines.all(), key=lambda line: line.pk)


# --- Styles ------------------------------------------------------------------------------------

def _style(name: str, size: float = 9, *, bold: bool = False, leading: float | None = None,
           align: int = 0, color=INK) -> ParagraphStyle:
    return ParagraphStyle(name, fontName="Helvetica-Bold" if bold else "Helvetica", fontSize=size,
                          leading=leading or size * 1.25, alignment=align, textColor=color)


BODY = _style("body")
SMALL = _style("small", 7.5, color=colors.HexColor("#374151"))
CAPTION = _style("caption", 7, bold=True, color=colors.HexColor("#4b5563"))
CAPTION_RIGHT = _style("caption_right", 7, bold=True, align=TA_RIGHT, color=colors.HexColor("#4b5563"))
BOLD = _style("bold", bold=True)
RIGHT = _style("right", align=TA_RIGHT)
RIGHT_BOLD = _style("right_bold", bold=True, align=TA_RIGHT)
H1 = _style("h1", 18, bold=True, leading=22)
H2 = _style("h2", 11, bold=True, leading=14)


def _table(rows, col_widths, *, header: bool = True, numeric_from: int | None = None,
           zebra: bool = True) -> Table:
    table = Table(rows, colWidths=col_widths, repeatRows=1 if header else 0)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4), ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
    ]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), SHADE), ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK)]
    if numeric_from is not None:
        style.append(("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"))
    table.setStyle(TableStyle(style))
    return table


def _document(*, title: str, subject: str, story: list, pagesize=A4) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=pagesize, title=_latin(title), author=AUTHOR, subject=subject,
                            creator=AUTHOR, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm,
                            bottomMargin=16 * mm, invariant=True)
    footer = _latin(title)

    def page_footer(canvas, doc_) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.setFillColor(colors.HexColor("#6b7280"))
        canvas.drawString(doc_.leftMargin, 9 * mm, footer)
        canvas.drawRightString(pagesize[0] - doc_.rightMargin, 9 * mm, f"Halaman / Page {doc_.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=page_footer, onLaterPages=page_footer)
    return buffer.getvalue()


def _tick_box() -> Drawing:
    """An empty square the packer ticks."""
    box = Drawing(4 * mm, 4 * mm)
    box.add(Rect(0, 0, 4 * mm, 4 * mm, fillColor=None, strokeColor=INK, strokeWidth=0.8))
    return box


def _key_values(rows: list[tuple[str, str]], widths: tuple[float, float]) -> Table:
    """Label on the left, value (Paragraph markup) on the right, no rules."""
    table = Table([[Paragraph(_p(k), CAPTION), Paragraph(v, BODY)] for k, v in rows], colWidths=list(widths))
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    return table


# --- Shipping label ------------------------------------------------------------------------------

def shipping_label_pdf(*, supplier_order: SupplierOrder) -> bytes:
    """One 100 × 150 mm page per parcel: courier and service, the waybill as a Code128 barcode and
    as text, "Paket 1/2", recipient and sender, the supplier order number and the weight.

    Raises LabelNotReady until the courier is booked (status confirmed, shipped or delivered,
    with a waybill)."""
    if not label_available(supplier_order=supplier_order):
        raise LabelNotReady(extra={"number": supplier_order.number, "status": supplier_order.status})
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LABEL_SIZE, invariant=1)
    canvas.setTitle(f"Label pengiriman {supplier_order.number}")
    canvas.setAuthor(AUTHOR)
    canvas.setCreator(AUTHOR)
    canvas.setSubject(f"Waybill {_waybill(supplier_order)}")
    parcels = supplier_order.parcel_count
    for parcel in range(1, parcels + 1):
        _label_page(canvas, supplier_order=supplier_order, parcel=parcel, parcels=parcels)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _label_page(canvas: Canvas, *, supplier_order: SupplierOrder, parcel: int, parcels: int) -> None:
    width, height = LABEL_SIZE
    margin = 4 * mm
    inner = width - 2 * margin
    waybill = _waybill(supplier_order)
    order = supplier_order.order

    def rule(y: float, weight: float = 0.8) -> None:
        canvas.setLineWidth(weight)
        canvas.line(margin, y, width - margin, y)

    def block(text_markup: str, style: ParagraphStyle, x: float, top: float, w: float, max_h: float) -> float:
        """Draws a paragraph with its top at `top`; returns its height (clipped to max_h by shrinking)."""
        para = Paragraph(text_markup, style)
        _, h = para.wrap(w, max_h)
        size = style.fontSize
        while h > max_h and size > 6:
            size -= 0.5
            style = ParagraphStyle(f"{style.name}-{size}", parent=style, fontSize=size, leading=size * 1.2)
            para = Paragraph(text_markup, style)
            _, h = para.wrap(w, max_h)
        para.drawOn(canvas, x, top - h)
        return h

    canvas.setStrokeColor(INK)
    canvas.setLineWidth(1.2)
    canvas.rect(margin / 2, margin / 2, width - margin, height - margin)

    # Courier and parcel count.
    top = height - margin
    canvas.setFillColor(INK)
    canvas.setFont("Helvetica-Bold", 20)
    canvas.drawString(margin + 1 * mm, top - 8 * mm, _latin(_carrier_name(supplier_order))[:18])
    canvas.setFont("Helvetica", 9)
    canvas.drawString(margin + 1 * mm, top - 13 * mm,
                      _latin(f"Layanan / Service: {supplier_order.service_level.upper()}"))
    box_w = 30 * mm
    canvas.rect(width - margin - box_w, top - 15 * mm, box_w, 14 * mm, stroke=1, fill=0)
    canvas.setFont("Helvetica", 7)
    canvas.drawCentredString(width - margin - box_w / 2, top - 4.5 * mm, "PAKET / PARCEL")
    canvas.setFont("Helvetica-Bold", 17)
    canvas.drawCentredString(width - margin - box_w / 2, top - 12 * mm, f"{parcel}/{parcels}")
    top -= 17 * mm
    rule(top)

    # The waybill, scannable and readable.
    barcode = Code128(_latin(waybill), barHeight=20 * mm, barWidth=1, quiet=False)
    bar_width = min(inner - 4 * mm, barcode.width * 0.6 * mm / 1) if barcode.width else inner
    barcode = Code128(_latin(waybill), barHeight=20 * mm, barWidth=bar_width / barcode.width, quiet=False)
    barcode.drawOn(canvas, (width - barcode.width) / 2, top - 23 * mm)
    canvas.setFont("Helvetica-Bold", 14)
    canvas.drawCentredString(width / 2, top - 29 * mm, _latin(waybill))
    canvas.setFont("Helvetica", 7)
    canvas.drawCentredString(width / 2, top - 32.5 * mm, "No. resi / Waybill")
    top -= 35 * mm
    rule(top)

    # Recipient: the workshop at the order's delivery address.
    address = order.delivery_address or {}
    top -= 1.5 * mm
    canvas.setFont("Helvetica-Bold", 7)
    canvas.drawString(margin + 1 * mm, top - 2.5 * mm, "PENERIMA / TO")
    top -= 4 * mm
    recipient = (f"<b>{_p(order.workshop.name)}</b><br/>"
                 + (f"u.p. {_p(address.get('recipient_name'))}<br/>" if address.get("recipient_name") else "")
                 + (f"Telp. / Phone: <b>{_p(address.get('phone'))}</b><br/>" if address.get("phone") else "")
                 + "<br/>".join(_p(line) for line in _ship_to_lines(supplier_order)))
    used = block(recipient, _style("to", 10.5, leading=13), margin + 1 * mm, top, inner - 2 * mm, 34 * mm)
    top -= max(used, 26 * mm) + 2 * mm
    rule(top, 0.5)

    # Sender: the supplier's warehouse.
    top -= 1.5 * mm
    canvas.setFont("Helvetica-Bold", 7)
    canvas.drawString(margin + 1 * mm, top - 2.5 * mm, "PENGIRIM / FROM")
    top -= 4 * mm
    supplier = supplier_order.supplier
    sender = (f"<b>{_p(supplier.legal_name)}</b> ({_p(supplier_order.warehouse.name)})<br/>"
              + "<br/>".join(_p(line) for line in _warehouse_lines(supplier_order))
              + (f"<br/>Telp. / Phone: {_p(supplier.contact_phone)}" if supplier.contact_phone else ""))
    block(sender, _style("from", 8, leading=10), margin + 1 * mm, top, inner - 2 * mm, 19 * mm)

    # Bottom band: the supplier order (scannable by the supplier's own warehouse) and the weight.
    bottom = margin + 15 * mm
    rule(bottom)
    x = margin + 1 * mm
    canvas.setFont("Helvetica", 7)
    canvas.drawString(x, bottom - 3.5 * mm, "No. pesanan / Order")
    canvas.setFont("Helvetica-Bold", 9)
    canvas.drawString(x, bottom - 7.5 * mm, _latin(supplier_order.number))
    canvas.setFont("Helvetica", 7)
    canvas.drawString(x, bottom - 12 * mm, "Berat total / Total weight:")
    canvas.setFont("Helvetica-Bold", 9)
    canvas.drawString(x + 31 * mm, bottom - 12 * mm, _kg(supplier_order.weight_g))
    small = Code128(_latin(supplier_order.number), barHeight=10 * mm, barWidth=1, quiet=False)
    room = width - margin - 1 * mm - (x + 44 * mm)
    small = Code128(_latin(supplier_order.number), barHeight=10 * mm, barWidth=min(0.9, room / small.width),
                    quiet=False)
    small.drawOn(canvas, width - margin - 1 * mm - small.width, bottom - 12.5 * mm)


# --- Packing slip --------------------------------------------------------------------------------

def packing_slip_pdf(*, supplier_order: SupplierOrder) -> bytes:
    """A4: what to pack (SKU, part number, name, accepted quantity) with a box to tick, the lines
    the supplier rejected listed apart with their reasons, the parcel count, the order's and the
    supplier order's numbers. Raises PackingSlipNotAvailable before the supplier accepted, or
    for a rejected or cancelled supplier order."""
    if not packing_slip_available(supplier_order=supplier_order):
        raise PackingSlipNotAvailable(extra={"number": supplier_order.number, "status": supplier_order.status})
    order = supplier_order.order
    lines = _lines(supplier_order)
    packed = [line for line in lines if line.accepted_quantity > 0]
    rejected = [line for line in lines if line.rejected_quantity > 0]
    address = order.delivery_address or {}
    usable = A4[0] - 32 * mm

    story: list = [
        Paragraph("Slip Pengepakan <font size=11 color='#4b5563'>/ Packing slip</font>", H1),
        Spacer(1, 2 * mm),
        Paragraph(f"<b>{_p(supplier_order.number)}</b>", _style("number", 13, leading=16)),
        Spacer(1, 4 * mm),
    ]
    ship_to = "<br/>".join([f"<b>{_p(order.workshop.name)}</b>"]
                           + ([f"u.p. {_p(address.get('recipient_name'))}"] if address.get("recipient_name") else [])
                           + [_p(line) for line in _ship_to_lines(supplier_order)]
                           + ([f"Telp. {_p(address.get('phone'))}"] if address.get("phone") else []))
    wh = supplier_order.warehouse
    left = _key_values([
        ("No. pesanan pemasok / Supplier order", f"<b>{_p(supplier_order.number)}</b>"),
        ("No. pesanan / Order", _p(order.number)),
        ("Pemasok / Supplier", _p(supplier_order.supplier.legal_name)),
        ("Gudang / Warehouse", _p(f"{wh.code} · {wh.name}")),
        ("Kurir / Courier", _p(f"{_carrier_name(supplier_order)} {supplier_order.service_level.upper()}")
         + (f"<br/>Resi / Waybill: <b>{_p(_waybill(supplier_order))}</b>" if _waybill(supplier_order) else "")),
        ("Jumlah koli / Parcels", f"<b>{supplier_order.parcel_count}</b>"),
        ("Berat / Weight", _kg(supplier_order.weight_g)),
    ] + ([("Diterima / Accepted", _p(_datetime_id(supplier_order.decided_at)))] if supplier_order.decided_at else []),
        (32 * mm, usable / 2 - 34 * mm))
    right = _key_values([("Kirim ke / Ship to", ship_to)], (24 * mm, usable / 2 - 26 * mm))
    header = Table([[left, right]], colWidths=[usable / 2, usable / 2])
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story += [header, Spacer(1, 6 * mm)]

    story.append(Paragraph("Barang yang dikemas <font color='#4b5563'>/ Items to pack</font>", H2))
    story.append(Spacer(1, 2 * mm))
    rows = [[Paragraph("No.", CAPTION), Paragraph("SKU", CAPTION), Paragraph("No. part / Part no.", CAPTION),
             Paragraph("Nama barang / Name", CAPTION), Paragraph("Jumlah / Qty", CAPTION_RIGHT),
             Paragraph("Cek", CAPTION)]]
    for index, line in enumerate(packed, start=1):
        rows.append([Paragraph(str(index), BODY), Paragraph(_p(line.sku), BODY), Paragraph(_p(line.part_number), BODY),
                     Paragraph(_p(line.name), BODY), Paragraph(f"<b>{line.accepted_quantity}</b>", RIGHT_BOLD),
                     _tick_box()])
    if not packed:
        rows.append(["", "", "", Paragraph("Tidak ada barang / Nothing to pack", BODY), "", ""])
    table = _table(rows, [10 * mm, 30 * mm, 32 * mm, usable - 10 * mm - 30 * mm - 32 * mm - 20 * mm - 12 * mm,
                          20 * mm, 12 * mm])
    story.append(table)
    total_units = sum(line.accepted_quantity for line in packed)
    story += [Spacer(1, 2 * mm),
              Paragraph(f"Total: <b>{total_units}</b> unit dalam <b>{supplier_order.parcel_count}</b> koli "
                        f"<font color='#4b5563'>/ {total_units} units in {supplier_order.parcel_count} "
                        f"parcel{'s' if supplier_order.parcel_count != 1 else ''}</font>", BODY)]

    if rejected:
        rows = [[Paragraph("SKU", CAPTION), Paragraph("No. part / Part no.", CAPTION),
                 Paragraph("Nama barang / Name", CAPTION), Paragraph("Ditolak / Rejected", CAPTION_RIGHT),
                 Paragraph("Alasan / Reason", CAPTION)]]
        for line in rejected:
            rows.append([Paragraph(_p(line.sku), BODY), Paragraph(_p(line.part_number), BODY),
                         Paragraph(_p(line.name), BODY), Paragraph(str(line.rejected_quantity), RIGHT),
                         Paragraph(_p(_reason(line)), BODY)])
        story.append(KeepTogether([
            Spacer(1, 8 * mm),
            Paragraph("Baris ditolak, jangan dikemas <font color='#4b5563'>/ Rejected lines, do not pack</font>", H2),
            Spacer(1, 2 * mm),
            _table(rows, [30 * mm, 32 * mm, usable - 30 * mm - 32 * mm - 22 * mm - 40 * mm, 22 * mm, 40 * mm]),
        ]))

    story += [Spacer(1, 12 * mm),
              Paragraph("Dikemas oleh / Packed by: ______________________ &nbsp;&nbsp;&nbsp; "
                        "Tanggal / Date: ______________", BODY)]
    return _document(title=f"Slip pengepakan {supplier_order.number}", subject=f"Packing slip {order.number}",
                     story=story)


# --- Faktur --------------------------------------------------------------------------------------

def tax_invoice_pdf(*, supplier_order: SupplierOrder) -> bytes:
    """A4, in Indonesian: the supplier's faktur to the workshop for what it accepted. Seller
    (name, NPWP) and buyer (name, NPWP, address), number INV/<supplier order number>, the date the
    supplier accepted, the accepted quantities × unit price, DPP (those goods + the supplier
    order's shipping), PPN at the order's rate (orders.services.pricing.order_totals) and the
    total. Raises InvoiceNotAvailable before the supplier accepted, or for a rejected or
    cancelled supplier order."""
    if not invoice_available(supplier_order=supplier_order):
        raise InvoiceNotAvailable(extra={"number": supplier_order.number, "status": supplier_order.status})
    order = supplier_order.order
    supplier = supplier_order.supplier
    workshop = order.workshop
    lines = [line for line in _lines(supplier_order) if line.accepted_quantity > 0]
    goods = sum(line.accepted_quantity * line.unit_price for line in lines)
    totals = order_totals(subtotal=goods, shipping=supplier_order.shipping_cost, rate_bp=order.tax_rate_bp)
    number = invoice_number(supplier_order=supplier_order)
    dated = supplier_order.decided_at or order.created_at
    usable = A4[0] - 32 * mm
    address = order.delivery_address or {}

    heading = Table([[
        [Paragraph("FAKTUR", _style("faktur", 24, bold=True, leading=28)),
         Paragraph("Faktur penjualan dengan PPN", SMALL)],
        _key_values([("Nomor faktur", f"<b>{_p(number)}</b>"), ("Tanggal", _p(_date_id(dated))),
                     ("No. pesanan", _p(order.number)), ("No. pesanan pemasok", _p(supplier_order.number))],
                    (30 * mm, 52 * mm)),
    ]], colWidths=[usable - 82 * mm, 82 * mm])
    heading.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))

    def party(title: str, rows: list[tuple[str, str]]) -> list:
        return [Paragraph(title, H2), Spacer(1, 1.5 * mm), _key_values(rows, (18 * mm, usable / 2 - 24 * mm))]

    seller = party("Penjual (Pengusaha Kena Pajak)", [
        ("Nama", f"<b>{_p(supplier.legal_name)}</b>"),
        ("NPWP", _p(supplier.npwp or "-")),
        ("Alamat", "<br/>".join(_p(line) for line in [supplier_order.warehouse.name,
                                                       *_warehouse_lines(supplier_order)])),
    ])
    buyer = party("Pembeli", [
        ("Nama", f"<b>{_p(workshop.name)}</b>"),
        ("NPWP", _p(workshop.npwp or "-")),
        ("Alamat", "<br/>".join(_p(line) for line in _ship_to_lines(supplier_order))
         + (f"<br/>u.p. {_p(address.get('recipient_name'))}" if address.get("recipient_name") else "")),
    ])
    parties = Table([[seller, buyer]], colWidths=[usable / 2, usable / 2])
    parties.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOX", (0, 0), (0, 0), 0.5, RULE), ("BOX", (1, 0), (1, 0), 0.5, RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), 6), ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
    ]))

    rows = [[Paragraph("No.", CAPTION), Paragraph("Kode / No. part", CAPTION), Paragraph("Nama barang", CAPTION),
             *(Paragraph(h, CAPTION_RIGHT) for h in ("Kuantitas", "Harga satuan", "Jumlah"))]]
    for index, line in enumerate(lines, start=1):
        code = f"{_p(line.sku)}<br/><font size=7.5>{_p(line.part_number)}</font>"
        rows.append([Paragraph(str(index), BODY), Paragraph(code, BODY),
                     Paragraph(_p(line.name), BODY), Paragraph(str(line.accepted_quantity), RIGHT),
                     Paragraph(rupiah(line.unit_price), RIGHT),
                     Paragraph(rupiah(line.accepted_quantity * line.unit_price), RIGHT)])
    name_w = usable - 9 * mm - 34 * mm - 18 * mm - 28 * mm - 30 * mm
    items = _table(rows, [9 * mm, 34 * mm, name_w, 18 * mm, 28 * mm, 30 * mm])

    def money_row(label: str, amount: int, *, strong: bool = False) -> list:
        style = RIGHT_BOLD if strong else RIGHT
        return ["", Paragraph(label, style), Paragraph(rupiah(amount), style)]

    summary = Table([
        money_row("Jumlah harga barang", totals.subtotal),
        money_row("Ongkos kirim", totals.shipping),
        money_row("Dasar Pengenaan Pajak (DPP)", totals.subtotal + totals.shipping, strong=True),
        money_row(f"PPN {_rate(totals.rate_bp)}", totals.tax),
        money_row("Total", totals.grand_total, strong=True),
    ], colWidths=[usable - 100 * mm, 66 * mm, 34 * mm])
    summary.setStyle(TableStyle([
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("LINEABOVE", (1, 2), (-1, 2), 0.5, RULE),
        ("LINEABOVE", (1, 4), (-1, 4), 1, INK), ("BACKGROUND", (1, 4), (-1, 4), SHADE),
    ]))

    story = [heading, Spacer(1, 6 * mm), parties, Spacer(1, 7 * mm), items, Spacer(1, 3 * mm), KeepTogether([
        summary,
        Spacer(1, 10 * mm),
        Paragraph("Harga dalam Rupiah. PPN dihitung atas DPP (harga barang yang diterima pemasok ditambah ongkos "
                  "kirim) dan dibulatkan ke rupiah terdekat. Barang yang ditolak pemasok tidak ditagihkan.", SMALL),
        Spacer(1, 1.5 * mm),
        Paragraph("Dokumen ini dibuat oleh okto88 atas nama penjual dan bukan Faktur Pajak elektronik (e-Faktur); "
                  "Faktur Pajak dengan nomor seri (NSFP) diterbitkan oleh penjual melalui sistem DJP.", SMALL),
    ])]
    return _document(title=f"Faktur {number}", subject=f"Faktur {number} - pesanan {order.number}", story=story)


__all__ = [
    "INVOICE_STATUSES", "LABEL_STATUSES", "PACKING_SLIP_STATUSES", "invoice_available", "invoice_number",
    "label_available", "packing_slip_available", "packing_slip_pdf", "pdf_response", "shipping_label_pdf",
    "tax_invoice_pdf",
]
