"""Demo catalog for `make run`: real brands, the common wear parts, fitment to the demo
vehicles, cross references (aftermarket → OE numbers) and a few supersessions.

Deterministic and idempotent: numbers are pure functions of (brand, vehicle, generation,
part type) (a CRC, not random), every row is matched by its natural key (brand name,
category slug, brand + number key, the fitment and cross reference unique keys) and
bulk-inserted with ignore_conflicts, and the search documents are rebuilt in one
set-based UPDATE. Vehicles come from vehicles.demo (loaded before this); a model that is
missing is skipped.

Numbers follow each maker's pattern (Toyota/Daihatsu 04465-xxxxx pads and 90915-xxxxx
filters, Honda 45022-xxx-xxx, Yamaha xxx-F5805-00, NGK BKR6E-style plugs, GS/Yuasa
battery types) so they look right to a mechanic; apart from the few well-known ones
(04465-0K240, BKR6E, CPR8EA-9, NS40ZL, C-1139) they are invented.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.utils.text import slugify

from catalog.models import Brand, BrandKind, Category, CrossReference, Fitment, Part, PartStatus, Position
from catalog.normalise import part_number_normalise
from catalog.services import catalog_cache_version_bump, part_search_document_refresh, variant_facet_rebuild
from vehicles.models import VehicleModel, VehicleType, VehicleVariant

CAR, MOTO = VehicleType.CAR, VehicleType.MOTORCYCLE
OEM, AFTERMARKET = BrandKind.OEM, BrandKind.AFTERMARKET

BRANDS: list[tuple[str, str, str]] = [
    ("Toyota Genuine Parts", OEM, "Japan"),
    ("Daihatsu Genuine Parts", OEM, "Japan"),
    ("Honda Genuine Parts", OEM, "Japan"),
    ("Mitsubishi Genuine Parts", OEM, "Japan"),
    ("Suzuki Genuine Parts", OEM, "Japan"),
    ("Yamaha Genuine Parts", OEM, "Japan"),
    ("Kawasaki Genuine Parts", OEM, "Japan"),
    ("Aisin", AFTERMARKET, "Japan"),
    ("Denso", AFTERMARKET, "Japan"),
    ("NGK", AFTERMARKET, "Japan"),
    ("Bosch", AFTERMARKET, "Germany"),
    ("Bendix", AFTERMARKET, "Australia"),  # Federal-Mogul's brake brand
    ("Akebono", AFTERMARKET, "Japan"),
    ("Nippon Piston Ring (NPR)", AFTERMARKET, "Japan"),
    ("GS Astra", AFTERMARKET, "Indonesia"),
    ("Yuasa", AFTERMARKET, "Japan"),
    ("Federal Parts", AFTERMARKET, "Indonesia"),
    ("Aspira", AFTERMARKET, "Indonesia"),  # Astra Otoparts
    ("FDR", AFTERMARKET, "Indonesia"),
    ("Sakura", AFTERMARKET, "Japan"),
    ("Kayaba (KYB)", AFTERMARKET, "Japan"),
    ("TDR", AFTERMARKET, "Indonesia"),
]

OEM_BY_MAKE = {
    "Toyota": "Toyota Genuine Parts", "Daihatsu": "Daihatsu Genuine Parts", "Honda": "Honda Genuine Parts",
    "Mitsubishi": "Mitsubishi Genuine Parts", "Suzuki": "Suzuki Genuine Parts",
    "Yamaha": "Yamaha Genuine Parts", "Kawasaki": "Kawasaki Genuine Parts",
}

# (slug, parent slug, name_id, name_en, synonyms)
CATEGORIES: list[tuple[str, str | None, str, str, str]] = [
    ("rem", None, "Rem", "Brakes", "rem, brake, pengereman"),
    ("kampas-rem", "rem", "Kampas Rem", "Brake pads", "kampas rem, brake pad, pad rem, dakron"),
    ("sepatu-rem", "rem", "Sepatu Rem", "Brake shoes", "sepatu rem, brake shoe, kampas tromol"),
    ("cakram", "rem", "Cakram", "Brake disc", "cakram, piringan cakram, brake disc, disc rotor"),
    ("mesin", None, "Mesin", "Engine", "mesin, engine"),
    ("busi", "mesin", "Busi", "Spark plug", "busi, spark plug"),
    ("filter-oli", "mesin", "Filter Oli", "Oil filter", "saringan oli, filter oli, oil filter"),
    ("filter-udara", "mesin", "Filter Udara", "Air filter", "saringan udara, filter udara, air filter"),
    ("ring-piston", "mesin", "Ring Piston", "Piston rings", "ring piston, piston ring, ring seher"),
    ("kelistrikan", None, "Kelistrikan", "Electrical", "kelistrikan, listrik, electrical"),
    ("aki", "kelistrikan", "Aki", "Battery", "aki, accu, battery, baterai"),
    ("kaki-kaki", None, "Kaki-kaki", "Suspension", "kaki-kaki, suspensi, suspension"),
    ("shock-absorber", "kaki-kaki", "Shock Absorber", "Shock absorber", "shock, shockbreaker, peredam kejut"),
    ("transmisi", None, "Transmisi", "Transmission", "transmisi, transmission"),
    ("v-belt", "transmisi", "V-Belt", "V-belt (CVT)", "v-belt, van belt, drive belt, cvt"),
    ("kampas-kopling", "transmisi", "Kampas Kopling", "Clutch", "kampas kopling, plat kopling, clutch, kopling"),
    ("ban", None, "Ban", "Tyres", "ban, tyre, tire"),
    ("oli", None, "Oli", "Lubricants", "oli, pelumas, oil, lubricant"),
]


@dataclass(frozen=True)
class PartType:
    category: str
    name_id: str
    name_en: str
    vehicle_types: tuple[str, ...]
    aftermarket: tuple[str, ...]
    position: str = Position.ANY
    quantity: int = 1
    weight_g: int = 500


PART_TYPES: list[PartType] = [
    PartType("kampas-rem", "Kampas Rem Depan", "Front Brake Pads", (CAR, MOTO),
             ("Aisin", "Bendix", "Akebono", "Aspira", "Federal Parts"), Position.FRONT, 1, 900),
    PartType("sepatu-rem", "Sepatu Rem Belakang", "Rear Brake Shoes", (CAR, MOTO),
             ("Aisin", "Bendix", "Aspira", "Federal Parts"), Position.REAR, 1, 1100),
    PartType("cakram", "Piringan Cakram Depan", "Front Brake Disc", (CAR,), ("Aisin", "Bendix"),
             Position.FRONT, 2, 5200),
    PartType("busi", "Busi", "Spark Plug", (CAR, MOTO), ("NGK", "Denso", "Bosch"), Position.ANY, 4, 60),
    PartType("filter-oli", "Filter Oli", "Oil Filter", (CAR, MOTO), ("Sakura", "Denso", "Aspira"),
             Position.ANY, 1, 250),
    PartType("filter-udara", "Filter Udara", "Air Filter", (CAR, MOTO), ("Sakura", "Denso", "Federal Parts"),
             Position.ANY, 1, 300),
    PartType("ring-piston", "Ring Piston Set STD", "Piston Ring Set STD", (CAR, MOTO),
             ("Nippon Piston Ring (NPR)",), Position.ANY, 1, 150),
    PartType("aki", "Aki", "Battery", (CAR, MOTO), ("GS Astra", "Yuasa"), Position.ANY, 1, 11000),
    PartType("shock-absorber", "Shock Absorber Depan", "Front Shock Absorber", (CAR, MOTO),
             ("Kayaba (KYB)", "Aspira"), Position.FRONT, 2, 2600),
    PartType("shock-absorber", "Shock Absorber Belakang", "Rear Shock Absorber", (CAR, MOTO),
             ("Kayaba (KYB)", "Aspira", "TDR"), Position.REAR, 2, 2400),
    PartType("v-belt", "V-Belt CVT", "CVT Drive Belt", (MOTO,), ("Federal Parts", "Aspira", "TDR", "Bando"),
             Position.ANY, 1, 350),
    PartType("kampas-kopling", "Kampas Kopling", "Clutch Disc", (CAR, MOTO), ("Aisin", "Aspira", "Federal Parts"),
             Position.ANY, 1, 1800),
    PartType("ban", "Ban Belakang", "Rear Tyre", (MOTO,), ("FDR", "Aspira"), Position.REAR, 1, 3200),
]

# The demo variants the catalog is fitted to (make, model); missing ones are skipped.
DEMO_MODELS: list[tuple[str, str]] = [
    ("Toyota", "Avanza"), ("Toyota", "Innova"), ("Toyota", "Rush"), ("Toyota", "Agya"),
    ("Toyota", "Calya"), ("Toyota", "Fortuner"),
    ("Daihatsu", "Xenia"), ("Daihatsu", "Ayla"), ("Daihatsu", "Terios"), ("Daihatsu", "Gran Max"),
    ("Daihatsu", "Sigra"),
    ("Honda", "Brio"), ("Honda", "HR-V"), ("Honda", "Jazz"), ("Honda", "Mobilio"),
    ("Mitsubishi", "Xpander"), ("Mitsubishi", "Pajero Sport"), ("Mitsubishi", "L300"),
    ("Suzuki", "Ertiga"), ("Suzuki", "Carry"), ("Suzuki", "XL7"),
    ("Honda", "Beat"), ("Honda", "Vario"), ("Honda", "Scoopy"), ("Honda", "PCX"), ("Honda", "Supra X 125"),
    ("Honda", "CBR150R"),
    ("Yamaha", "NMAX"), ("Yamaha", "Aerox"), ("Yamaha", "Mio"), ("Yamaha", "Jupiter Z1"), ("Yamaha", "Vixion"),
    ("Yamaha", "R15"),
    ("Suzuki", "Satria"), ("Suzuki", "Nex"),
    ("Kawasaki", "Ninja 250"), ("Kawasaki", "KLX 150"),
]

# Known numbers for a few (make, model, generation-or-"", category): the rest are derived.
KNOWN_OE_NUMBERS = {
    ("Toyota", "Innova", "kampas-rem"): "04465-0K240",
    ("Toyota", "Avanza", "filter-oli"): "90915-YZZE1",
}
KNOWN_AFTERMARKET = {("Sakura", "90915YZZE1"): "C-1139"}

UNIVERSAL_CATEGORIES = {"busi", "aki"}
SPARK_PLUGS = {CAR: ("BKR6E", "K20TT", "FR7DC"), MOTO: ("CPR8EA-9", "U24EPR9", "UR4AC")}
BATTERIES = {CAR: ("NS40ZL", "NS60LS", "N50Z"), MOTO: ("GTZ5S", "YTZ5S", "GTZ6V")}


def _digits(seed: str, length: int) -> str:
    return str(zlib.crc32(seed.encode()) % (10 ** length)).zfill(length)


def _letters(seed: str, length: int) -> str:
    value, alphabet, out = zlib.crc32(seed.encode()), "ABCDEFGHJKLMNPRSTUVWXYZ", ""
    for _ in range(length):
        value, index = divmod(value, len(alphabet))
        out += alphabet[index]
    return out


def _oe_number(make: str, seed: str, category: str) -> str:
    prefix = {"kampas-rem": "04465", "sepatu-rem": "04495", "cakram": "43512", "busi": "90919",
              "filter-oli": "90915", "filter-udara": "17801", "ring-piston": "13011", "aki": "28800",
              "shock-absorber": "48510", "v-belt": "23100", "kampas-kopling": "31250", "ban": "42711"}[category]
    tail = _letters(seed, 2) + _digits(seed, 3)
    if make in ("Toyota", "Daihatsu"):
        return f"{prefix}-{tail}"
    if make == "Honda":
        return f"{prefix[:5]}-{_letters(seed, 3)}-{_letters(seed + 'h', 1)}{_digits(seed, 2)}"
    if make == "Yamaha":
        return f"{_digits(seed, 1)}{_letters(seed, 2)}-F{_digits(seed + 'y', 4)}-00"
    if make == "Suzuki":
        return f"{prefix}-{_digits(seed, 5)}-000"
    if make == "Kawasaki":
        return f"{_digits(seed, 5)}-{_digits(seed + 'k', 4)}"
    return f"MB{_digits(seed, 6)}"  # Mitsubishi


def _aftermarket_number(brand: str, seed: str, category: str, vehicle_type: str) -> str:
    if category == "busi":
        plugs = SPARK_PLUGS[vehicle_type]
        if brand == "NGK":
            return plugs[zlib.crc32(seed.encode()) % len(plugs)]
        return f"{brand[:2].upper()}{_digits(seed, 4)}"
    if category == "aki":
        types = BATTERIES[vehicle_type]
        return types[zlib.crc32(seed.encode()) % len(types)]
    patterns = {
        "Aisin": "{c}-{d4}", "Bendix": "DB{d4}", "Akebono": "AN-{d3}WK", "Aspira": "AS-{l2}{d4}",
        "Federal Parts": "FP-{d5}", "Denso": "DX-{d4}", "Sakura": "{c1}-{d4}", "Kayaba (KYB)": "KYB-{d6}",
        "Nippon Piston Ring (NPR)": "NPR-{d5}", "TDR": "TDR-{l2}{d3}", "FDR": "FDR-{d2}/{d2b}-14",
        "Bosch": "0 986 {d3} {d3b}", "Bando": "BND-{d4}",
    }
    pattern = patterns.get(brand, "{d6}")
    return pattern.format(
        c=category[:2].upper(), c1={"filter-oli": "C", "filter-udara": "A"}.get(category, "F"),
        d2=_digits(seed, 2), d2b=_digits(seed + "b", 2), d3=_digits(seed, 3), d3b=_digits(seed + "b", 3),
        d4=_digits(seed, 4), d5=_digits(seed, 5), d6=_digits(seed, 6), l2=_letters(seed, 2),
    )


@transaction.atomic
def demo_load() -> list[str]:
    Brand.objects.bulk_create(
        [Brand(name=name, slug=slugify(name), kind=kind, country=country) for name, kind, country in
         [*BRANDS, ("Bando", AFTERMARKET, "Japan")]],
        ignore_conflicts=True,
    )
    brands = {brand.name: brand for brand in Brand.objects.all()}

    existing_slugs = set(Category.objects.values_list("slug", flat=True))
    for slug, parent_slug, name_id, name_en, synonyms in CATEGORIES:  # a few dozen rows, parents first
        if slug not in existing_slugs:
            parent = Category.objects.get(slug=parent_slug) if parent_slug else None
            Category.objects.create(slug=slug, parent=parent, name_id=name_id, name_en=name_en, synonyms=synonyms)
    categories = {c.slug: c for c in Category.objects.filter(slug__in=[row[0] for row in CATEGORIES])}

    models = {
        (m.make.name, m.name): m
        for m in VehicleModel.objects.select_related("make").filter(make__name__in={mk for mk, _ in DEMO_MODELS})
    }
    variants_by_group: dict[tuple[str, str, str], list[VehicleVariant]] = defaultdict(list)
    group_type: dict[tuple[str, str, str], str] = {}
    demo_variants = VehicleVariant.objects.filter(model__in=models.values()).select_related("model__make")
    for variant in demo_variants.order_by("pk"):
        key = (variant.model.make.name, variant.model.name, variant.generation)
        variants_by_group[key].append(variant)
        group_type[key] = variant.model.vehicle_type

    # Known numbers belong to a model's oldest generation in the demo data.
    first_generation: dict[tuple[str, str], str] = {}
    for (make, model, generation), _variants in sorted(variants_by_group.items(),
                                                      key=lambda item: min(v.year_from for v in item[1])):
        first_generation.setdefault((make, model), generation)

    parts: dict[tuple[str, str], Part] = {}        # (brand, number_key) → unsaved Part
    fitments: set[tuple[tuple[str, str], int, str, int]] = set()
    crossrefs: set[tuple[tuple[str, str], str, str, bool]] = set()
    supersessions: list[tuple[tuple[str, str], tuple[str, str]]] = []

    def add_part(brand: str, number: str, part_type: PartType, vehicle_type: str, label: str) -> tuple[str, str]:
        key = (brand, part_number_normalise(number))
        if key not in parts:
            parts[key] = Part(
                brand=brands[brand], category=categories[part_type.category], number=number, number_key=key[1],
                name_id=f"{part_type.name_id} {label}", name_en=f"{part_type.name_en} {label}",
                weight_g=part_type.weight_g, attributes={"vehicle_type": vehicle_type}, status=PartStatus.ACTIVE,
                length_mm=100 + len(number) * 10, width_mm=80, height_mm=40,
            )
        return key

    for (make, model, generation), variants in sorted(variants_by_group.items()):
        vehicle_type = group_type[(make, model, generation)]
        oem_brand = OEM_BY_MAKE.get(make)
        label = generation if model in generation else f"{model} {generation}".strip()
        for part_type in PART_TYPES:
            if vehicle_type not in part_type.vehicle_types or oem_brand is None:
                continue
            seed = f"{make}|{model}|{generation}|{part_type.category}|{part_type.position}"
            known = KNOWN_OE_NUMBERS.get((make, model, part_type.category))
            oe_number = (known if known and generation == first_generation[(make, model)]
                         else _oe_number(make, seed, part_type.category))
            oe_key = add_part(oem_brand, oe_number, part_type, vehicle_type, label)
            quantity = part_type.quantity if not (part_type.category == "busi" and vehicle_type == MOTO) else 1
            for variant in variants:
                fitments.add((oe_key, variant.pk, part_type.position, quantity))
            # Every 5th OE part replaced an older number that workshops still ask for.
            if zlib.crc32(seed.encode()) % 5 == 0:
                old_key = add_part(oem_brand, _oe_number(make, seed + "|old", part_type.category), part_type,
                                   vehicle_type, label)
                supersessions.append((old_key, oe_key))
                for variant in variants:
                    fitments.add((old_key, variant.pk, part_type.position, quantity))
            for brand in part_type.aftermarket:
                number = KNOWN_AFTERMARKET.get((brand, oe_key[1])) or _aftermarket_number(
                    brand, seed + brand, part_type.category, vehicle_type)
                # Plugs and batteries are sold by type, not by vehicle: one part fits many.
                universal = part_type.category in UNIVERSAL_CATEGORIES
                key = add_part(brand, number, part_type, vehicle_type, f"{brand} {number}" if universal else label)
                crossrefs.add((key, make, oe_number, True))
                for variant in variants:
                    fitments.add((key, variant.pk, part_type.position, quantity))

    # Insert only what is missing, so a second run costs a few reads and no writes.
    def part_ids() -> dict[tuple[str, str], int]:
        return {
            (brand_name, number_key): pk
            for pk, brand_name, number_key in Part.objects.filter(brand__in=brands.values())
            .values_list("pk", "brand__name", "number_key")
        }

    ids = part_ids()
    new_parts = [part for key, part in sorted(parts.items()) if key not in ids]
    Part.objects.bulk_create(new_parts, ignore_conflicts=True, batch_size=1000)
    if new_parts:
        ids = part_ids()
    demo_ids = [ids[key] for key in parts]

    have = set(CrossReference.objects.filter(part_id__in=demo_ids).values_list("part_id", "brand_name", "number_key"))
    CrossReference.objects.bulk_create(
        [CrossReference(part_id=ids[key], brand_name=brand_name, number=number,
                        number_key=part_number_normalise(number), is_oe=is_oe)
         for key, brand_name, number, is_oe in sorted(crossrefs)
         if (ids[key], brand_name, part_number_normalise(number)) not in have],
        ignore_conflicts=True, batch_size=2000,
    )
    have = set(Fitment.objects.filter(part_id__in=demo_ids).values_list("part_id", "variant_id", "position"))
    # Each row carries its part's category as stored (a part loaded before may have moved since).
    category_of = dict(Part.objects.filter(pk__in=demo_ids).values_list("pk", "category_id"))
    Fitment.objects.bulk_create(
        [Fitment(part_id=ids[key], variant_id=variant_id, position=position, quantity=quantity,
                 part_category_id=category_of[ids[key]])
         for key, variant_id, position, quantity in sorted(fitments)
         if (ids[key], variant_id, position) not in have],
        ignore_conflicts=True, batch_size=5000,
    )
    variant_facet_rebuild(variant_ids={variant_id for _key, variant_id, _position, _quantity in fitments})
    superseded = set(Part.objects.filter(pk__in=demo_ids, superseded_by__isnull=False).values_list("pk", flat=True))
    for old_key, new_key in supersessions:
        if ids[old_key] not in superseded:
            Part.objects.filter(pk=ids[old_key]).update(status=PartStatus.SUPERSEDED, superseded_by_id=ids[new_key])
    if new_parts:
        part_search_document_refresh(part_ids=demo_ids)
    # Written around the services: searches cached before the load must not be served after it.
    catalog_cache_version_bump()

    if not parts:
        return ["catalog: no demo vehicles found, loaded brands and categories only"]
    return [
        f"catalog: {len(parts):,} parts, {len(fitments):,} fitments, {len(crossrefs):,} cross references, "
        f"{len(supersessions)} supersessions (try /api/v1/parts/lookup/?number=04465-0K240)"
    ]

