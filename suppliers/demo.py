"""Demo suppliers for `make run`: nine suppliers in nine cities, their warehouses, offers for the
demo parts and stock written through the ledger, and the parts' best offers as the services
keep them. Idempotent and deterministic: the same parts get the same offers, prices and stock
on every machine (hash-based, no random state)."""

from __future__ import annotations

import hashlib

from django.db import transaction

from catalog import demo as catalog_demo
from catalog.models import Part, PartStatus
from okto88.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_user
from suppliers import services
from suppliers.models import (
    MemberRole,
    MovementReason,
    Offer,
    Stock,
    StockMovement,
    Supplier,
    SupplierMember,
    SupplierStatus,
    Warehouse,
)

MAX_DEMO_PARTS = 3000
MAX_OFFERS_PER_PART = 5

# (legal name, NPWP, SKU prefix, contact, email, warehouses: (code, name, province, city, district, postal code))
SUPPLIERS: list[tuple[str, str, str, str, str, list[tuple[str, str, str, str, str, str]]]] = [
    ("PT Sinar Jaya Motor Parts", "02.345.678.9-012.000", "SJM", "Siti Rahayu", "sales@sinarjaya.co.id", [
        ("JKT1", "Gudang Kebayoran", "DKI Jakarta", "Jakarta Selatan", "Kebayoran Baru", "12110"),
        ("JKT2", "Gudang Penjaringan", "DKI Jakarta", "Jakarta Utara", "Penjaringan", "14440"),
    ]),
    ("PT Maju Bersama Otoparts", "01.234.567.8-901.000", "MBO", "Hendra Wijaya", "order@majubersama.co.id", [
        ("JKT1", "Gudang Gambir", "DKI Jakarta", "Jakarta Pusat", "Gambir", "10110"),
    ]),
    ("CV Surya Abadi Motor", "03.456.789.0-613.000", "SAM", "Agus Salim", "cs@suryaabadi.co.id", [
        ("SBY1", "Gudang Genteng", "Jawa Timur", "Kota Surabaya", "Genteng", "60275"),
        ("SBY2", "Gudang Wonocolo", "Jawa Timur", "Kota Surabaya", "Wonocolo", "60236"),
    ]),
    ("PT Parahyangan Sparepart", "04.567.890.1-423.000", "PHS", "Dewi Lestari", "sales@parahyangan.co.id", [
        ("BDG1", "Gudang Coblong", "Jawa Barat", "Kota Bandung", "Coblong", "40131"),
    ]),
    ("CV Semarang Jaya Teknik", "05.678.901.2-511.000", "SJT", "Bambang Susilo", "info@semarangjaya.co.id", [
        ("SMG1", "Gudang Semarang Tengah", "Jawa Tengah", "Kota Semarang", "Semarang Tengah", "50131"),
    ]),
    ("PT Deli Motor Sejahtera", "06.789.012.3-121.000", "DMS", "Rudi Siregar", "sales@delimotor.co.id", [
        ("MDN1", "Gudang Medan Kota", "Sumatera Utara", "Kota Medan", "Medan Kota", "20211"),
    ]),
    ("CV Anging Mammiri Parts", "07.890.123.4-801.000", "AMP", "Andi Rahman", "order@angingmammiri.co.id", [
        ("MKS1", "Gudang Mariso", "Sulawesi Selatan", "Kota Makassar", "Mariso", "90121"),
        ("MKS2", "Gudang Mamajang", "Sulawesi Selatan", "Kota Makassar", "Mamajang", "90131"),
    ]),
    ("PT Mataram Auto Parts", "08.901.234.5-541.000", "MAP", "Sri Wahyuni", "sales@mataramauto.co.id", [
        ("YOG1", "Gudang Jetis", "DI Yogyakarta", "Kota Yogyakarta", "Jetis", "55231"),
    ]),
    ("CV Bali Dwipa Motor", "09.012.345.6-901.000", "BDM", "Made Sudarsana", "cs@balidwipa.co.id", [
        ("DPS1", "Gudang Denpasar Selatan", "Bali", "Kota Denpasar", "Denpasar Selatan", "80221"),
    ]),
]


# What a part of each demo category costs in Indonesia (rupiah, low to high), so the demo does not
# sell an oil filter for Rp 1.3 million; a category not listed takes the wide default.
PRICE_RANGE_BY_CATEGORY: dict[str, tuple[int, int]] = {
    "kampas-rem": (85_000, 450_000), "sepatu-rem": (75_000, 350_000), "cakram": (350_000, 1_250_000),
    "busi": (18_000, 120_000), "filter-oli": (25_000, 95_000), "filter-udara": (40_000, 185_000),
    "ring-piston": (120_000, 650_000), "aki": (250_000, 1_650_000), "shock-absorber": (180_000, 1_200_000),
    "v-belt": (75_000, 260_000), "kampas-kopling": (65_000, 750_000), "ban": (180_000, 650_000),
    "oli": (45_000, 160_000),
}
DEFAULT_PRICE_RANGE = (25_000, 1_500_000)


def _base_price(*, number_key: str, category_slug: str) -> int:
    low, high = PRICE_RANGE_BY_CATEGORY.get(category_slug, DEFAULT_PRICE_RANGE)
    steps = (high - low) // 5_000
    return low + (_h("price", number_key) % (steps + 1)) * 5_000


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def _suppliers_and_warehouses() -> tuple[list[Supplier], dict[int, list[Warehouse]]]:
    suppliers: list[Supplier] = []
    warehouses: dict[int, list[Warehouse]] = {}
    for legal_name, npwp, _prefix, contact, email, wh_rows in SUPPLIERS:
        supplier = Supplier.objects.filter(legal_name=legal_name).first()
        if supplier is None:
            supplier = services.supplier_create(legal_name=legal_name, npwp=npwp, contact_name=contact,
                                                contact_email=email, status=SupplierStatus.ACTIVE)
        existing = {w.code: w for w in supplier.warehouses.all()}
        for code, name, province, city, district, postal_code in wh_rows:
            if code not in existing:
                existing[code] = services.warehouse_create(
                    supplier=supplier, code=code, name=name, province=province, city=city, district=district,
                    postal_code=postal_code, address_line=f"Jl. Raya {district} No. {_h(code) % 200 + 1}",
                )
        suppliers.append(supplier)
        warehouses[supplier.pk] = [existing[row[0]] for row in wh_rows]
    return suppliers, warehouses


@transaction.atomic
def demo_load() -> list[str]:
    suppliers, warehouses = _suppliers_and_warehouses()
    user = demo_user(email=DEMO_LOGINS["supplier"], full_name="Siti Rahayu")
    SupplierMember.objects.get_or_create(user=user, defaults={"supplier": suppliers[0], "role": MemberRole.OWNER})

    brand_names = [name for name, _kind, _country in catalog_demo.BRANDS]
    parts = list(Part.objects.filter(brand__name__in=brand_names, status=PartStatus.ACTIVE)
                 .order_by("pk").values_list("pk", "number_key", "category__slug")[:MAX_DEMO_PARTS])
    prefixes = {s.pk: row[2] for s, row in zip(suppliers, SUPPLIERS, strict=True)}

    offers: list[Offer] = []
    for part_id, number_key, category_slug in parts:
        count = _h("count", number_key) % (MAX_OFFERS_PER_PART + 1)  # 0–5 offers, a few parts have none
        start = _h("start", number_key) % len(suppliers)
        base = _base_price(number_key=number_key, category_slug=category_slug)
        for i in range(count):
            supplier = suppliers[(start + i * 2) % len(suppliers)]
            spread = _h("spread", supplier.pk, number_key) % 31 - 15  # ±15 % between suppliers
            price = max(round(base * (100 + spread) / 100 / 500) * 500, 500)
            offers.append(Offer(
                supplier=supplier, part_id=part_id, sku=f"{prefixes[supplier.pk]}-{number_key}"[:60], price=price,
                lead_time_days=1 + _h("lead", supplier.pk, number_key) % 4,
                min_order_qty=1, pack_size=1, is_active=True,
            ))
    Offer.objects.bulk_create(offers, ignore_conflicts=True, batch_size=2000)

    # Stock for offers that have none yet, written with its ledger row (reason import).
    have_stock = set(Stock.objects.filter(offer__supplier__in=suppliers).values_list("offer_id", "warehouse_id"))
    new_stock: list[Stock] = []
    for offer_id, supplier_id, sku in (Offer.objects.filter(supplier__in=suppliers).order_by("pk")
                                       .values_list("pk", "supplier_id", "sku")):
        for warehouse in warehouses[supplier_id]:
            if (offer_id, warehouse.pk) in have_stock:
                continue
            roll = _h("stock", sku, warehouse.code)
            on_hand = 0 if roll % 6 == 0 else roll % 40 + 1  # about one in six is out of stock
            new_stock.append(Stock(offer_id=offer_id, warehouse=warehouse, on_hand=on_hand))
    Stock.objects.bulk_create(new_stock, batch_size=2000)
    StockMovement.objects.bulk_create(
        [StockMovement(stock=s, reason=MovementReason.IMPORT, on_hand_delta=s.on_hand, reserved_delta=0,
                       on_hand_after=s.on_hand, reserved_after=0, reference="demo") for s in new_stock if s.on_hand],
        batch_size=2000,
    )
    # The bulk writes above bypass the services, so the read model they keep is brought in line
    # here: the one refresh, set-based, for every demo part (also mending a database loaded
    # before the demo did this).
    services.part_best_offer_refresh(part_ids=[part_id for part_id, _number_key, _category in parts])
    offer_count = Offer.objects.filter(supplier__in=suppliers).count()
    warehouse_count = Warehouse.objects.filter(supplier__in=suppliers).count()
    return [
        f"suppliers: {len(suppliers)} suppliers, {warehouse_count} warehouses, {offer_count} offers; "
        f"supplier login: {DEMO_LOGINS['supplier']} / {DEMO_PASSWORD} at /supplier-admin/",
    ]
