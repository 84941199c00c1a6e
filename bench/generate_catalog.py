"""Build a catalog at scale for the search benchmark, with COPY (not ORM loops).

    .venv/bin/python bench/generate_catalog.py --parts 200000 --variants 20000 --fitments 5000000

Uses its own database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/okto88_bench):
creates it and migrates it if needed, then REPLACES the vehicles and catalog tables' rows
(TRUNCATE ... CASCADE). Deterministic: the same --seed gives the same catalog.

Shape (what real catalogs look like, roughly):
- ~30 makes sold in Indonesia (cars and motorcycles), ~2,000 models, --variants variants
  over model years 1995-2025;
- --brands brands (OEM brands named after the makes, real aftermarket names, then made-up
  local ones); ~150 categories in a two-level tree with Indonesian and English names and
  synonyms; part numbers in each brand's style, with dashes and spaces (04465-0K240,
  0 986 494 123, BKR6E-11);
- cross references ~1 per part (aftermarket part -> an OE number of the same category, and
  sometimes another aftermarket number); 2% of parts superseded by a later part of the
  same brand;
- fitment skewed: variant popularity follows a Zipf law, so the popular variants (an
  Avanza, a Beat) carry thousands of parts and the long tail a handful; OEM parts fit
  their own make; the number of variants per part is log-normal.

Steps: drop secondary indexes and constraints of the three big tables and of the search
documents, COPY, build the search documents with the catalog's own statement (catalog.services.
part_search_document_refresh: in (brand, category, part) order into the emptied table), VACUUM
FULL catalog_part (the statement's UPDATE of search_text left one dead row per part),
recreate indexes and constraints, rebuild the facet counts and the best offers (the TRUNCATE
took the offers) with the services' statements, VACUUM ANALYZE. Prints the time of each step.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from bisect import bisect_left
from contextlib import contextmanager
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/okto88_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
CREATED_AT = "2026-01-01 00:00:00+00"
# Variant popularity ~ 1/rank^s. 0.5 puts the most popular variant on ~5-10% of the parts of
# its vehicle type (an Avanza carries ~10,000 of 200,000), the long tail on a few dozen.
ZIPF_S = 0.5
BIG_TABLES = ("catalog_part", "catalog_crossreference", "catalog_fitment")
SEARCH_DOCUMENT_TABLE = "catalog_partsearchdocument"  # filled from the parts, its GIN index built after

# --- Reference data ---------------------------------------------------------------------

CAR, MOTO = "car", "motorcycle"
# make: (country, [car models], [motorcycle models], popularity)
MAKES = {
    "Toyota": ("Japan", ["Avanza", "Innova", "Rush", "Agya", "Calya", "Fortuner", "Yaris", "Vios", "Raize",
                         "Veloz", "Hilux", "Kijang", "Corolla", "Camry", "Sienta", "Alphard", "Hiace"], [], 10),
    "Daihatsu": ("Japan", ["Xenia", "Ayla", "Sigra", "Terios", "Gran Max", "Rocky", "Sirion", "Luxio",
                           "Taruna", "Zebra"], [], 8),
    "Honda": ("Japan", ["Brio", "HR-V", "BR-V", "Mobilio", "Jazz", "City", "Civic", "CR-V", "WR-V"],
              ["Beat", "Vario 125", "Vario 160", "Scoopy", "PCX 160", "Genio", "Supra X 125", "Revo",
               "CB150R", "CBR150R", "ADV 160", "Sonic 150R"], 10),
    "Mitsubishi": ("Japan", ["Xpander", "Xpander Cross", "Pajero Sport", "L300", "Colt T120SS", "Outlander",
                             "Triton", "Mirage"], [], 6),
    "Suzuki": ("Japan", ["Ertiga", "Carry", "XL7", "APV", "Ignis", "Swift", "Baleno", "Jimny", "Karimun Wagon R"],
               ["Nex II", "Address", "Satria F150", "GSX-R150", "Smash"], 6),
    "Yamaha": ("Japan", [], ["NMAX", "Aerox", "Mio M3", "Fazzio", "Lexi", "Gear 125", "Jupiter Z1", "Vixion",
                             "R15", "XSR155", "MX King", "FreeGo", "X-Ride"], 9),
    "Nissan": ("Japan", ["Livina", "Grand Livina", "March", "Serena", "X-Trail", "Navara", "Kicks", "Juke"], [], 3),
    "Mazda": ("Japan", ["Mazda2", "Mazda3", "CX-3", "CX-5", "CX-30", "BT-50"], [], 2),
    "Isuzu": ("Japan", ["Panther", "D-Max", "MU-X", "Elf", "Traga"], [], 3),
    "Hyundai": ("Korea", ["Creta", "Stargazer", "Ioniq 5", "Santa Fe", "Palisade", "Grand i10"], [], 3),
    "Kia": ("Korea", ["Sonet", "Seltos", "Carens", "Picanto", "Sportage"], [], 2),
    "Wuling": ("China", ["Confero", "Cortez", "Almaz", "Air ev", "Formo", "Alvez"], [], 3),
    "Chery": ("China", ["Tiggo 7 Pro", "Tiggo 8 Pro", "Omoda 5"], [], 1),
    "DFSK": ("China", ["Glory 560", "Glory i-Auto", "Super Cab", "Gelora"], [], 1),
    "Kawasaki": ("Japan", [], ["Ninja 250", "KLX 150", "W175", "Ninja ZX-25R", "D-Tracker"], 2),
    "TVS": ("India", [], ["Apache RTR 200", "Ntorq", "Neo XR", "Dazz"], 1),
    "Piaggio": ("Italy", [], ["Vespa Primavera", "Vespa Sprint", "Vespa LX", "Liberty"], 1),
    "BMW": ("Germany", ["320i", "X1", "X3", "520i"], ["G 310 R"], 1),
    "Mercedes-Benz": ("Germany", ["C 200", "E 300", "GLA 200", "Sprinter"], [], 1),
    "Ford": ("USA", ["Ranger", "Everest", "EcoSport", "Fiesta"], [], 1),
    "Chevrolet": ("USA", ["Spin", "Trax", "Captiva", "Colorado"], [], 1),
    "Datsun": ("Japan", ["GO+ Panca", "GO", "Cross"], [], 1),
    "Hino": ("Japan", ["Dutro", "Ranger FM", "Ranger FG"], [], 1),
    "Mitsubishi Fuso": ("Japan", ["Canter", "Fighter"], [], 1),
    "Viar": ("Indonesia", [], ["Q1", "Karya 200", "Cross X"], 1),
    "Benelli": ("Italy", [], ["Patagonian Eagle", "Motobi 152", "TNT 135"], 1),
    "Royal Enfield": ("India", [], ["Classic 350", "Meteor 350", "Himalayan"], 1),
    "Lexus": ("Japan", ["RX 300", "NX 300", "ES 300h"], [], 1),
}
ENGINE_CODES = {CAR: ["1NR-VE", "2NR-VE", "1KD-FTV", "2GD-FTV", "L15A", "L15Z", "4A91", "K15B", "K14B", "HR15DE",
                      "G4FG", "B12D", "3SZ-VE", "1TR-FE", "D4D", "4JB1", "M15A", "1KR-FE", "K3-VE"],
                MOTO: ["eSP 110", "eSP 125", "eSP+ 160", "Blue Core 125", "VVA 155", "SEP 113", "SOHC 150",
                       "DOHC 150", "K150", "DOHC 250"]}
CAR_TRIMS = ["E M/T", "G M/T", "G CVT", "E A/T", "V CVT", "Q CVT", "S M/T", "GX M/T", "Ultimate A/T",
             "RS CVT", "Sport M/T", "Exceed CVT", "Dakar A/T", "Luxury A/T", "Standard M/T", "Deluxe M/T"]
MOTO_TRIMS = ["CBS", "CBS ISS", "Deluxe", "Street", "Standard", "ABS", "Connected", "Cyber City", "Sporty",
              "Prestige", "Special Edition", "Racing"]
BODIES = {CAR: ["MPV", "SUV", "Hatchback", "Sedan", "Pick-up", "Van"], MOTO: ["Skuter", "Bebek", "Sport"]}

# group slug: (name_id, name_en, [(name_id, name_en, synonyms, scope, positions)])
# scope: car, motorcycle or both (both -> one category per vehicle type);
# positions: True when the part is sold per axle (front/rear).
CATEGORY_TREE = {
    "rem": ("Rem", "Brakes", [
        ("Kampas rem", "Brake pad", "kanvas rem, brake pads, pad rem", "both", True),
        ("Sepatu rem", "Brake shoe", "kampas tromol, brake shoes", "both", True),
        ("Cakram rem", "Brake disc", "piringan cakram, disc rotor, brake rotor", "both", True),
        ("Tromol rem", "Brake drum", "drum brake", "car", True),
        ("Master rem", "Brake master cylinder", "master cylinder", "both", False),
        ("Kaliper rem", "Brake caliper", "caliper", "both", True),
        ("Minyak rem", "Brake fluid", "brake fluid, DOT 3, DOT 4", "both", False),
        ("Selang rem", "Brake hose", "brake line", "both", True),
    ]),
    "mesin": ("Mesin", "Engine", [
        ("Busi", "Spark plug", "spark plugs, plug", "both", False),
        ("Piston", "Piston", "seher", "both", False),
        ("Ring piston", "Piston ring", "ring seher", "both", False),
        ("Paking kepala silinder", "Cylinder head gasket", "gasket, packing", "both", False),
        ("Klep", "Engine valve", "katup, valve", "both", False),
        ("Timing belt", "Timing belt", "tali timing, cam belt", "car", False),
        ("Rantai keteng", "Cam chain", "timing chain", "motorcycle", False),
        ("Dudukan mesin", "Engine mount", "engine mounting", "car", False),
        ("Pompa oli", "Oil pump", "oil pump", "both", False),
        ("Karburator", "Carburettor", "karbu, carburetor", "motorcycle", False),
        ("Injektor", "Fuel injector", "injector", "both", False),
        ("Throttle body", "Throttle body", "throttle", "both", False),
        ("Seal klep", "Valve stem seal", "seal klep, valve seal", "both", False),
        ("Noken as", "Camshaft", "camshaft, nokenas", "both", False),
    ]),
    "filter": ("Filter", "Filters", [
        ("Saringan oli", "Oil filter", "filter oli", "both", False),
        ("Saringan udara", "Air filter", "filter udara", "both", False),
        ("Saringan bensin", "Fuel filter", "filter bensin, filter solar", "both", False),
        ("Saringan kabin", "Cabin filter", "filter AC, cabin air filter", "car", False),
    ]),
    "oli": ("Oli dan cairan", "Oils and fluids", [
        ("Oli mesin", "Engine oil", "pelumas, motor oil", "both", False),
        ("Oli transmisi", "Gear oil", "oli gardan, transmission oil", "both", False),
        ("Air radiator", "Coolant", "radiator coolant, antifreeze", "both", False),
        ("Oli power steering", "Power steering fluid", "PSF", "car", False),
    ]),
    "kelistrikan": ("Kelistrikan", "Electrical", [
        ("Aki", "Battery", "accu, baterai, accumulator", "both", False),
        ("Lampu depan", "Headlamp", "headlight, lampu utama", "both", False),
        ("Lampu belakang", "Tail lamp", "stoplamp, rear light", "both", False),
        ("Bohlam", "Bulb", "lampu, light bulb", "both", False),
        ("Alternator", "Alternator", "dinamo ampere", "car", False),
        ("Dinamo starter", "Starter motor", "starter", "both", False),
        ("Koil pengapian", "Ignition coil", "koil, coil", "both", False),
        ("Sekering", "Fuse", "fuse, sikring", "both", False),
        ("Regulator kiprok", "Rectifier regulator", "kiprok, regulator", "motorcycle", False),
        ("Klakson", "Horn", "horn, tlolet", "both", False),
        ("Sensor oksigen", "Oxygen sensor", "O2 sensor, lambda", "car", False),
        ("CDI", "CDI unit", "ECU, ignition module", "motorcycle", False),
        ("Kabel busi", "Spark plug cable", "kabel koil, ignition lead", "car", False),
        ("Saklar", "Switch", "switch, tombol", "both", False),
        ("Lampu sein", "Turn signal lamp", "sein, riting, indicator", "both", False),
    ]),
    "kaki-kaki": ("Kaki-kaki", "Suspension and steering", [
        ("Shock absorber", "Shock absorber", "sokbreker, peredam kejut, shockbreaker", "both", True),
        ("Per keong", "Coil spring", "pegas, spring", "car", True),
        ("Ball joint", "Ball joint", "ball joint", "car", True),
        ("Tie rod", "Tie rod end", "tierod", "car", True),
        ("Rack end", "Rack end", "rack end", "car", True),
        ("Bushing arm", "Control arm bushing", "karet arm, bushing", "car", True),
        ("Link stabilizer", "Stabilizer link", "stabilizer", "car", True),
        ("Bearing roda", "Wheel bearing", "laher roda, wheel bearing", "both", True),
        ("Komstir", "Steering head bearing", "komstir", "motorcycle", False),
        ("Seal shock depan", "Fork oil seal", "seal sok", "motorcycle", False),
        ("Kabel speedometer", "Speedometer cable", "kabel spido", "motorcycle", False),
    ]),
    "transmisi": ("Transmisi", "Transmission", [
        ("Kampas kopling", "Clutch disc", "plat kopling, clutch plate", "both", False),
        ("Dekrup kopling", "Clutch cover", "matahari kopling, pressure plate", "car", False),
        ("Release bearing", "Release bearing", "bearing kopling", "car", False),
        ("V-belt", "Drive belt (CVT)", "van belt, CVT belt", "motorcycle", False),
        ("Roller CVT", "CVT roller", "roller, weight roller", "motorcycle", False),
        ("Gir set", "Sprocket set", "gear set, rantai gir, chain kit", "motorcycle", False),
        ("Rantai", "Drive chain", "chain", "motorcycle", False),
        ("As roda", "Drive shaft", "CV joint, as kopel", "car", True),
        ("Kabel kopling", "Clutch cable", "tali kopling", "both", False),
        ("Karet boot as roda", "CV boot", "boot CV joint", "car", True),
    ]),
    "pendingin": ("Pendingin", "Cooling", [
        ("Radiator", "Radiator", "radiator", "both", False),
        ("Pompa air", "Water pump", "water pump", "both", False),
        ("Thermostat", "Thermostat", "termostat", "both", False),
        ("Selang radiator", "Radiator hose", "hose radiator", "car", False),
        ("Kipas radiator", "Radiator fan", "extra fan, cooling fan", "car", False),
        ("Kompresor AC", "AC compressor", "compressor", "car", False),
        ("Kondensor AC", "AC condenser", "condenser", "car", False),
        ("Evaporator AC", "AC evaporator", "evaporator", "car", False),
    ]),
    "ban": ("Ban dan velg", "Tyres and wheels", [
        ("Ban luar", "Tyre", "ban, tire, tyre", "both", True),
        ("Ban dalam", "Inner tube", "tube", "motorcycle", True),
        ("Velg", "Wheel rim", "pelek, rim", "both", True),
        ("Pentil", "Tyre valve", "valve ban", "both", False),
    ]),
    "bodi": ("Bodi", "Body", [
        ("Spion", "Mirror", "kaca spion, side mirror", "both", False),
        ("Wiper blade", "Wiper blade", "karet wiper, wiper", "car", False),
        ("Bumper", "Bumper", "bemper", "car", True),
        ("Handle pintu", "Door handle", "gagang pintu", "car", False),
        ("Kaca film", "Window film", "tint", "car", False),
        ("Cover bodi", "Body panel", "bodi halus, fairing", "motorcycle", False),
        ("Jok", "Seat", "sadel, seat", "motorcycle", False),
    ]),
    "knalpot": ("Knalpot", "Exhaust", [
        ("Knalpot", "Muffler", "exhaust, silencer", "both", False),
        ("Paking knalpot", "Exhaust gasket", "gasket knalpot", "both", False),
        ("Catalytic converter", "Catalytic converter", "katalis", "car", False),
    ]),
    "bahan-bakar": ("Bahan bakar", "Fuel system", [
        ("Pompa bensin", "Fuel pump", "fuel pump", "both", False),
        ("Tutup tangki", "Fuel cap", "tank cap", "both", False),
        ("Selang bensin", "Fuel hose", "fuel line", "both", False),
    ]),
}
# How often each leaf is sold relative to the others (wear parts first).
HOT_WORDS = ("Kampas rem", "Busi", "Saringan oli", "Oli mesin", "Aki", "V-belt", "Ban luar", "Shock absorber",
             "Saringan udara", "Bohlam", "Wiper blade", "Kampas kopling", "Roller CVT", "Gir set")

AFTERMARKET = ["Aisin", "Denso", "Bosch", "NGK", "Federal Mogul", "Bendix", "Akebono", "KYB", "Sakura", "Yuasa",
               "GS Astra", "Motul", "Shell", "Castrol", "Pertamina", "Daido", "NPR", "Champion", "Brembo", "TRW",
               "Valeo", "Gates", "Mitsuboshi", "Bando", "Koyo", "NSK", "SKF", "Osram", "Philips", "Stanley",
               "Aspira", "Federal Parts", "Indoparts", "Tokico", "Monroe", "Nachi", "FAG", "Hella", "Mahle",
               "Mann-Filter", "Vic", "Exedy", "Daikin", "Seiken", "Mikuni", "Keihin", "Pirelli", "IRC",
               "Corsa", "FDR", "Bridgestone", "Dunlop", "Michelin", "Achilles", "Swallow", "Rextor", "Prima",
               "TDR", "Kitaco", "Takasago", "Incoe", "Massive", "Rodamax", "Fukuyama", "Nissin", "Daytona",
               "Asahi", "Sparta", "Yamalube", "AHM Oil", "Mobil", "Top 1", "Prestone", "Bardahl", "Ferodo",
               "Textar", "ATE", "Lemforder", "Sachs", "Delphi"]
SYLLABLES = ["ka", "ri", "ma", "ja", "ya", "sa", "to", "mo", "nu", "pra", "sin", "tan", "gar", "da", "wi", "ra",
             "lo", "ko", "ba", "sen", "tri", "me", "ga", "pu", "na", "ti", "bu", "jo"]
SUFFIXES = ["Parts", "Motor", "Jaya", "Teknik", "Auto", "Mandiri", "Sakti", "Indo", "Perkasa", "Abadi"]


# --- Setup ------------------------------------------------------------------------------

def django_setup(database_url: str, redis_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okto88.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def database_create(database_url: str) -> bool:
    """Create the bench database if it does not exist; True when it was created."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    cfg = dj_database_url.parse(database_url)
    conninfo = {"host": cfg["HOST"] or None, "port": cfg["PORT"] or None, "user": cfg["USER"] or None,
                "password": cfg["PASSWORD"] or None, "dbname": "postgres"}
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))
        return True


class Timer:
    def __init__(self):
        self.steps: list[tuple[str, float]] = []
        self.started = time.monotonic()

    @contextmanager
    def step(self, name: str):
        print(f"  {name} ...", end="", flush=True)
        began = time.monotonic()
        yield
        seconds = time.monotonic() - began
        self.steps.append((name, seconds))
        print(f" {seconds:7.1f}s", flush=True)

    def total(self) -> float:
        return time.monotonic() - self.started


def copy_lines(cursor, table: str, columns: list[str], lines) -> int:
    """COPY tab-separated lines (already escaped: our text has no tab, newline or backslash)."""
    n = 0
    buffer = io.StringIO()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for line in lines:
            buffer.write(line)
            n += 1
            if n % 20000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    return n


def secondary_schema(cursor, table: str) -> list[str]:
    """DDL to recreate the table's constraints (but the primary key) and other indexes."""
    cursor.execute(
        """
        SELECT format('ALTER TABLE %%I ADD CONSTRAINT %%I %%s', %s, conname, pg_get_constraintdef(oid)),
               format('ALTER TABLE %%I DROP CONSTRAINT %%I', %s, conname)
        FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('u', 'f', 'c')
        ORDER BY contype DESC, conname
        """,
        [table, table, table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """
        SELECT pg_get_indexdef(i.indexrelid), format('DROP INDEX %%I', c.relname)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        ORDER BY c.relname
        """,
        [table],
    )
    indexes = cursor.fetchall()
    for _create, drop in constraints + indexes:
        cursor.execute(drop)
    return [create for create, _drop in indexes] + [create for create, _drop in constraints]


# --- Generation -------------------------------------------------------------------------

def slugify(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


def zipf_cum_weights(n: int, s: float) -> list[float]:
    return list(accumulate(1.0 / (rank ** s) for rank in range(1, n + 1)))


class Catalog:
    def __init__(self, rng: random.Random, *, brands: int, variants: int):
        self.rng = rng
        self.make_rows, self.model_rows, self.variant_rows = [], [], []
        self.brand_rows, self.category_rows = [], []
        self._vehicles(variants)
        self._brands(brands)
        self._categories()

    def _vehicles(self, n_variants: int) -> None:
        rng = self.rng
        models = []  # (model_id, make_id, name, type, popularity)
        for make_id, (make, (country, cars, motos, popularity)) in enumerate(MAKES.items(), start=1):
            self.make_rows.append((make_id, make, slugify(make), country))
            for vtype, names in ((CAR, cars), (MOTO, motos)):
                for name in names:
                    models.append([None, make_id, name, vtype, popularity * 3])
        # Long tail: older and rarer models until there are ~n_variants/10 models.
        target_models = max(len(models), n_variants // 10)
        makes = list(MAKES.items())
        while len(models) < target_models:
            make_id = rng.randrange(len(makes)) + 1
            make, (_country, cars, motos, popularity) = makes[make_id - 1]
            vtype = MOTO if motos and (not cars or rng.random() < 0.4) else CAR
            base = rng.choice(motos if vtype == MOTO else cars)
            models.append([None, make_id, f"{base} {rng.choice(['Lama', 'Klasik', 'Pro', 'Plus', 'X', 'Max'])} "
                                          f"{len(models)}", vtype, popularity * 0.3])
        for model_id, row in enumerate(models, start=1):
            row[0] = model_id
            self.model_rows.append((model_id, row[1], row[2], f"{slugify(row[2])}-{model_id}", row[3]))
        # Variants: distributed over models by popularity; each (model, year, name) unique.
        weights = list(accumulate(m[4] for m in models))
        per_model = [1] * len(models)  # every model has at least one variant
        for _ in range(n_variants - len(models)):
            per_model[bisect_left(weights, rng.random() * weights[-1])] += 1
        variant_id = 0
        for (model_id, make_id, _name, vtype, _pop), count in zip(models, per_model, strict=True):
            trims = MOTO_TRIMS if vtype == MOTO else CAR_TRIMS
            start = rng.randint(1995, 2022)
            for k in range(count):
                variant_id += 1
                year_from = min(2025, start + (k // len(trims)) * rng.randint(2, 5))
                year_to = None if rng.random() < 0.3 else min(2025, year_from + rng.randint(1, 7))
                cc = rng.choice([110, 125, 150, 155, 160, 250]) if vtype == MOTO else rng.choice(
                    [1000, 1200, 1300, 1500, 2000, 2400, 2500, 2800])
                name = f"{cc / 1000:.1f} {trims[k % len(trims)]}" if vtype == CAR else f"{trims[k % len(trims)]}"
                if k >= len(trims):
                    name = f"{name} ({year_from})"
                self.variant_rows.append((
                    variant_id, model_id, f"Gen {1 + k // len(trims)}", name, year_from, year_to,
                    rng.choice(ENGINE_CODES[vtype]), cc, "petrol" if rng.random() < 0.85 else "diesel",
                    rng.choice(["manual", "automatic", "cvt"]), rng.choice(BODIES[vtype]), vtype, make_id,
                ))

    def _brands(self, n_brands: int) -> None:
        names = [(make, "oem") for make in MAKES] + [(name, "aftermarket") for name in AFTERMARKET]
        seen = {name.lower() for name, _kind in names}
        while len(names) < n_brands:
            word = "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 3))).capitalize()
            name = f"{word} {self.rng.choice(SUFFIXES)}"
            if name.lower() not in seen:
                seen.add(name.lower())
                names.append((name, "aftermarket"))
        for brand_id, (name, kind) in enumerate(names[:n_brands], start=1):
            self.brand_rows.append((brand_id, name, slugify(name), kind, "Japan" if kind == "oem" else "Indonesia"))

    def _categories(self) -> None:
        category_id = 0
        self.leaves = []  # (category_id, name_id, name_en, vehicle type, positions, weight)
        for slug, (group_id, group_en, leaves) in CATEGORY_TREE.items():
            category_id += 1
            parent = category_id
            self.category_rows.append((category_id, None, slug, group_id, group_en, ""))
            for name_id, name_en, synonyms, scope, positions in leaves:
                types = [CAR, MOTO] if scope == "both" else [scope]
                for vtype in types:
                    category_id += 1
                    suffix_id = {CAR: " mobil", MOTO: " motor"}[vtype] if len(types) > 1 else ""
                    suffix_en = {CAR: " (car)", MOTO: " (motorcycle)"}[vtype] if len(types) > 1 else ""
                    weight = 8.0 if name_id in HOT_WORDS else 1.0
                    self.category_rows.append((category_id, parent, slugify(name_id + suffix_id),
                                               name_id + suffix_id, name_en + suffix_en, synonyms))
                    self.leaves.append((category_id, name_id + suffix_id, name_en + suffix_en, vtype, positions,
                                        weight))


NUMBER_STYLES = [
    lambda r: f"{r.randint(10000, 99999)}-{r.choice('0BKX')}{r.choice('ABCDEFGHJK')}{r.randint(100, 999)}",  # Toyota
    lambda r: f"{r.randint(10000, 99999)}-{r.choice(['KVB', 'K59', 'K0J', 'GN5', 'K44'])}-{r.randint(900, 999)}",
    lambda r: f"0 986 {r.randint(100, 999)} {r.randint(100, 999)}",                                     # Bosch
    lambda r: f"{r.choice(['BKR', 'CPR', 'DR', 'K', 'IFR'])}{r.randint(5, 9)}{r.choice('EAHU')}-{r.randint(10, 99)}",
    lambda r: f"{r.choice(['ASN', 'BP', 'SF', 'FC', 'KR'])}-{r.randint(1000, 99999)}",
    lambda r: f"{r.choice(['A', 'C', 'F', 'O'])}{r.randint(100, 9999)} {r.choice(['', 'S', 'R', 'X'])}".strip(),
    lambda r: f"{r.randint(100, 999)}.{r.randint(100, 999)}.{r.randint(10, 99)}",
]


def generate_parts(cat: Catalog, rng: random.Random, n_parts: int):
    """Part rows, with their vehicle type and fitting make (OEM) for the fitment step."""
    oem_brand_ids = [b[0] for b in cat.brand_rows if b[3] == "oem"]
    after_ids = [b[0] for b in cat.brand_rows if b[3] == "aftermarket"]
    after_cum = zipf_cum_weights(len(after_ids), 0.9)
    leaf_cum = list(accumulate(leaf[5] for leaf in cat.leaves))
    make_of_brand = {b[0]: i for i, b in enumerate(cat.brand_rows, start=1) if b[3] == "oem"}
    brand_style = {b[0]: rng.randrange(len(NUMBER_STYLES)) for b in cat.brand_rows}
    make_types = {i: (bool(cars), bool(motos)) for i, (_c, cars, motos, _p) in enumerate(MAKES.values(), start=1)}
    model_names = {m[0]: m[2] for m in cat.model_rows}
    popular_models = [m[0] for m in cat.model_rows[:150]]
    keys: set[tuple[int, str]] = set()
    parts = []  # (id, brand_id, category_id, number, key, name_id, name_en, weight, l, w, h, vtype, make_id, pos)
    for part_id in range(1, n_parts + 1):
        leaf = cat.leaves[bisect_left(leaf_cum, rng.random() * leaf_cum[-1])]
        category_id, name_id, name_en, vtype, positions, _weight = leaf
        if rng.random() < 0.35:
            brand_id = rng.choice(oem_brand_ids)
            has_car, has_moto = make_types[make_of_brand[brand_id]]
            if (vtype == CAR and not has_car) or (vtype == MOTO and not has_moto):
                brand_id = after_ids[bisect_left(after_cum, rng.random() * after_cum[-1])]
        else:
            brand_id = after_ids[bisect_left(after_cum, rng.random() * after_cum[-1])]
        style = NUMBER_STYLES[brand_style[brand_id]]
        while True:
            number = style(rng)
            key = "".join(ch for ch in number.upper() if ch.isalnum())
            if (brand_id, key) not in keys:
                keys.add((brand_id, key))
                break
        position = rng.choice(["front", "rear"]) if positions else ""
        side_id = {"front": " depan", "rear": " belakang", "": ""}[position]
        side_en = {"front": "Front ", "rear": "Rear ", "": ""}[position]
        model = model_names[rng.choice(popular_models)]
        brand = cat.brand_rows[brand_id - 1][1]
        parts.append((
            part_id, brand_id, category_id, number, key, f"{name_id}{side_id} {brand} {model}",
            f"{side_en}{name_en.lower() if side_en else name_en} {brand} {model}",
            int(rng.lognormvariate(5.5, 1.2)) % 40000, rng.randint(10, 900), rng.randint(10, 600),
            rng.randint(5, 400), vtype, make_of_brand.get(brand_id), position,
        ))
    return parts


def part_lines(parts, superseded: dict[int, int]):
    for p in parts:
        successor = superseded.get(p[0])
        yield (f"{p[0]}\t{p[1]}\t{p[2]}\t{p[3]}\t{p[4]}\t{p[5]}\t{p[6]}\t\t{{}}\t{p[7]}\t{p[8]}\t{p[9]}\t{p[10]}\t"
               f"{'superseded' if successor else 'active'}\t{successor or chr(92) + 'N'}\t1\t\t"
               f"{CREATED_AT}\t{CREATED_AT}\n")


def crossref_lines(cat: Catalog, parts, rng: random.Random):
    oem = {b[0] for b in cat.brand_rows if b[3] == "oem"}
    brand_names = {b[0]: b[1] for b in cat.brand_rows}
    by_category: dict[tuple[int, bool], list[int]] = {}
    for index, p in enumerate(parts):
        by_category.setdefault((p[2], p[1] in oem), []).append(index)
    n = 0
    for p in parts:
        is_oem = p[1] in oem
        targets = []
        if is_oem:
            if rng.random() < 0.6:
                targets.append(by_category.get((p[2], False)))
        else:
            if rng.random() < 0.95:
                targets.append(by_category.get((p[2], True)))
            if rng.random() < 0.5:
                targets.append(by_category.get((p[2], False)))
        seen = set()
        for pool in targets:
            if not pool:
                continue
            other = parts[rng.choice(pool)]
            ref = (brand_names[other[1]], other[4])
            if other[0] == p[0] or ref in seen:
                continue
            seen.add(ref)
            n += 1
            yield f"{n}\t{p[0]}\t{ref[0]}\t{other[3]}\t{other[4]}\t{'t' if other[1] in oem else 'f'}\n"


def fitment_lines(cat: Catalog, parts, rng: random.Random, n_fitments: int, counter: list[int]):
    """Fitment rows: per part a log-normal number of variants, drawn by Zipf popularity."""
    order = list(range(len(cat.variant_rows)))
    rng.shuffle(order)  # popularity rank of each variant
    rank = {cat.variant_rows[i][0]: r for r, i in enumerate(order, start=1)}
    pools: dict[tuple, tuple[list[int], list[float]]] = {}

    def pool(vtype: str, make_id: int | None):
        key = (vtype, make_id)
        if key not in pools:
            ids = [v[0] for v in cat.variant_rows if v[11] == vtype and (make_id is None or v[12] == make_id)]
            if not ids:
                return pool(vtype, None)
            ids.sort(key=rank.__getitem__)
            pools[key] = (ids, list(accumulate(1.0 / (rank[v] ** ZIPF_S) for v in ids)))
        return pools[key]

    raw = [rng.lognormvariate(0, 1.0) for _ in parts]
    scale = n_fitments / sum(raw) * 1.0001  # float sums: err on "at least"
    fid, carry = 0, 0.0
    for p, r in zip(parts, raw, strict=True):
        ids, cum = pool(p[11], p[12])
        # What rounding or a small pool left over moves on to the next parts.
        wanted = r * scale + carry
        k = min(max(1, int(wanted)), len(ids))
        carry = wanted - k
        total = cum[-1]
        chosen: dict[int, None] = {}
        for _attempt in range(3):
            for _ in range(k - len(chosen)):
                chosen[ids[bisect_left(cum, rng.random() * total)]] = None
            if len(chosen) >= k:
                break
        for v in ids:  # still short (a part that fits most of the pool): most popular first
            if len(chosen) >= k:
                break
            chosen[v] = None
        quantity = 2 if p[13] else 1
        for variant_id in chosen:
            fid += 1
            yield f"{fid}\t{p[0]}\t{variant_id}\t{p[13]}\t{quantity}\t\t{p[2]}\n"  # p[2]: its category
    counter.append(fid)


# --- Main -------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", type=int, default=200_000)
    parser.add_argument("--variants", type=int, default=20_000)
    parser.add_argument("--fitments", type=int, default=5_000_000)
    parser.add_argument("--brands", type=int, default=300)
    parser.add_argument("--seed", type=int, default=88)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args()

    timer = Timer()
    print(f"generating into {args.database_url}: {args.parts:,} parts, {args.variants:,} variants, "
          f"{args.fitments:,} fitment rows, {args.brands} brands, seed {args.seed}")
    with timer.step("database and migrations"):
        django_setup(args.database_url, args.redis_url)
        database_create(args.database_url)
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)

    catalog_generate(parts=args.parts, variants=args.variants, fitments=args.fitments, brands=args.brands,
                     seed=args.seed, timer=timer)


def catalog_generate(*, parts: int, variants: int, fitments: int, brands: int = 300, seed: int = 88,
                     timer: Timer | None = None, vacuum: bool = True) -> None:
    """Generate the catalog into the database Django is set up on (main() sets it up). Without
    `vacuum` (inside a transaction, as in a test) the VACUUM steps are left out."""
    timer = timer or Timer()
    n_parts_wanted = parts  # `parts` becomes the generated rows

    from django.db import connection

    from catalog.services import catalog_cache_version_bump, part_search_document_refresh, variant_facet_rebuild
    from suppliers.services import part_best_offer_rebuild

    rng = random.Random(seed)
    with timer.step("reference data in memory (vehicles, brands, categories)"):
        cat = Catalog(rng, brands=brands, variants=variants)
    with timer.step(f"parts in memory ({n_parts_wanted:,})"):
        parts = generate_parts(cat, rng, n_parts_wanted)
        by_brand: dict[int, list[int]] = {}
        for p in parts:
            by_brand.setdefault(p[1], []).append(p[0])
        superseded: dict[int, int] = {}
        for ids in by_brand.values():
            for i, part_id in enumerate(ids[:-1]):
                if rng.random() < 0.02:
                    superseded[part_id] = ids[rng.randrange(i + 1, len(ids))]  # later: no cycles

    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 1")
        with timer.step("truncate and drop secondary indexes/constraints"):
            cursor.execute(
                "TRUNCATE catalog_variantfacet, catalog_partsearchdocument, catalog_fitment, catalog_crossreference, "
                "catalog_part, catalog_category, catalog_brand, vehicles_vehiclevariant, vehicles_vehiclemodel, "
                "vehicles_make RESTART IDENTITY CASCADE"
            )
            recreate = []
            for table in (*BIG_TABLES, SEARCH_DOCUMENT_TABLE):
                recreate += secondary_schema(cursor, table)
        with timer.step("COPY makes, models, variants, brands, categories"):
            copy_lines(cursor, "vehicles_make", ["id", "name", "slug", "country"],
                       ("\t".join(map(str, r)) + "\n" for r in cat.make_rows))
            copy_lines(cursor, "vehicles_vehiclemodel", ["id", "make_id", "name", "slug", "vehicle_type"],
                       ("\t".join(map(str, r)) + "\n" for r in cat.model_rows))
            copy_lines(cursor, "vehicles_vehiclevariant",
                       ["id", "model_id", "generation", "name", "year_from", "year_to", "engine_code",
                        "displacement_cc", "fuel", "transmission", "body", "vehicle_type"],
                       ("\t".join("\\N" if x is None else str(x) for x in r[:12]) + "\n" for r in cat.variant_rows))
            copy_lines(cursor, "catalog_brand", ["id", "name", "slug", "kind", "country"],
                       ("\t".join(map(str, r)) + "\n" for r in cat.brand_rows))
            copy_lines(cursor, "catalog_category", ["id", "parent_id", "slug", "name_id", "name_en", "synonyms"],
                       ("\t".join("\\N" if x is None else str(x) for x in r) + "\n" for r in cat.category_rows))
        with timer.step(f"COPY parts ({len(parts):,}; {len(superseded):,} superseded)"):
            copy_lines(cursor, "catalog_part",
                       ["id", "brand_id", "category_id", "number", "number_key", "name_id", "name_en",
                        "description", "attributes", "weight_g", "length_mm", "width_mm", "height_mm", "status",
                        "superseded_by_id", "version", "search_text", "created_at", "updated_at"],
                       part_lines(parts, superseded))
        with timer.step("COPY cross references"):
            n_refs = copy_lines(cursor, "catalog_crossreference",
                                ["id", "part_id", "brand_name", "number", "number_key", "is_oe"],
                                crossref_lines(cat, parts, rng))
        counter: list[int] = []
        with timer.step(f"COPY fitment (~{fitments:,}, generated while streaming)"):
            copy_lines(cursor, "catalog_fitment",
                       ["id", "part_id", "variant_id", "position", "quantity", "note", "part_category_id"],
                       fitment_lines(cat, parts, rng, fitments, counter))
        with timer.step("identity sequences"):
            for table in ("vehicles_make", "vehicles_vehiclemodel", "vehicles_vehiclevariant", "catalog_brand",
                          "catalog_category", *BIG_TABLES):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
        with timer.step("search documents (catalog.services.part_search_document_refresh, one statement)"):
            refreshed = part_search_document_refresh()
        if vacuum:
            with timer.step("VACUUM FULL catalog_part (drop the dead rows of its UPDATE)"):
                cursor.execute("VACUUM FULL catalog_part")
        with timer.step(f"recreate {len(recreate)} indexes and constraints"):
            for ddl in recreate:
                cursor.execute(ddl)
        with timer.step("facet counts per variant (catalog.services.variant_facet_rebuild, one INSERT)"):
            variant_facet_rebuild()
        # The TRUNCATE took every offer with the parts, but not the best-offer rows (derived, no
        # foreign key): left alone, they would name gone offers on the new parts of the same ids.
        with timer.step("best offer per part (suppliers.services.part_best_offer_rebuild)"):
            part_best_offer_rebuild()
        if vacuum:
            with timer.step("VACUUM ANALYZE"):
                for table in ("vehicles_make", "vehicles_vehiclemodel", "vehicles_vehiclevariant", "catalog_brand",
                              "catalog_category", "catalog_variantfacet", SEARCH_DOCUMENT_TABLE, *BIG_TABLES):
                    cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute(
            "SELECT (SELECT count(*) FROM catalog_part), (SELECT count(*) FROM vehicles_vehiclevariant), "
            "(SELECT count(*) FROM catalog_fitment), (SELECT count(*) FROM catalog_crossreference), "
            "(SELECT count(*) FROM catalog_brand), (SELECT count(*) FROM catalog_category), "
            "pg_size_pretty(pg_database_size(current_database()))"
        )
        n_parts, n_variants, n_fitments, n_crossrefs, n_brands, n_categories, size = cursor.fetchone()
        cursor.execute(
            "SELECT max(n), percentile_disc(0.5) WITHIN GROUP (ORDER BY n) FROM "
            "(SELECT count(*) AS n FROM catalog_fitment GROUP BY variant_id) t"
        )
        top, median = cursor.fetchone()
    # Written behind the services' back (COPY): cached search pages of the old rows must go.
    catalog_cache_version_bump()
    print(f"done in {timer.total():.1f}s: {n_parts:,} parts ({refreshed:,} search documents), "
          f"{n_variants:,} variants, {n_fitments:,} fitment rows, {n_crossrefs:,} cross references "
          f"({n_refs:,} copied), {n_brands} brands, {n_categories} categories; database {size}")
    print(f"parts per variant: median {median:,}, most popular {top:,}")
    assert n_fitments >= fitments and n_parts >= n_parts_wanted and n_variants >= variants


if __name__ == "__main__":
    main()
