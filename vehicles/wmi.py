"""World Manufacturer Identifiers (VIN positions 1-3) for the makes a workshop in Indonesia meets.

`vininfo` ships a general WMI table, but it lacks most Indonesian plants (it knows only MHR),
names plants rather than the brand a workshop searches by, and cannot say whether a plant
builds cars or motorcycles. This table adds exactly that: for each WMI the plant
(`manufacturer`), the brand(s) it builds (`makes`, spelled as `vehicles.Make.name`), the
country, and the vehicle type where the WMI is specific to one. The decoder falls back to
`vininfo`'s table for anything not listed here.

Sources: ISO 3780 country ranges (MF-MK is Indonesia), the Indonesian reading guides for
nomor rangka (Kompas Otomotif 2020: MHY Suzuki, MHF Toyota, MHR Honda, MHK Daihatsu; MHC
Isuzu and MHL Mercedes-Benz on bus chassis), the public SAE/NHTSA WMI lists, and VINs as
printed on STNK/BPKB documents. Entries marked `certain=False` are believed right from
secondary sources (forum posts, printed VINs) but not confirmed against the SAE registry;
an operator should confirm them before they drive anything beyond candidate suggestions.
"""

from __future__ import annotations

from dataclasses import dataclass

CAR = "car"
MOTORCYCLE = "motorcycle"


@dataclass(frozen=True)
class WmiEntry:
    manufacturer: str
    makes: tuple[str, ...]
    country: str
    vehicle_type: str | None = None  # None: the WMI is used for both, or we do not know
    certain: bool = True

    @property
    def make(self) -> str:
        return self.makes[0]


def _e(manufacturer: str, makes: str | tuple[str, ...], country: str,
       vehicle_type: str | None = None, *, certain: bool = True) -> WmiEntry:
    return WmiEntry(manufacturer=manufacturer, makes=(makes,) if isinstance(makes, str) else makes,
                    country=country, vehicle_type=vehicle_type, certain=certain)


ID, JP, TH, US, CA, MX, DE, KR, CN, IN, MY = (
    "Indonesia", "Japan", "Thailand", "United States", "Canada", "Mexico", "Germany",
    "South Korea", "China", "India", "Malaysia",
)

# Three-character WMIs. Two-character keys (e.g. "JT") are prefixes used when no
# three-character entry matches: Japanese makers use the third character for the
# vehicle line, so "JT" + anything is Toyota.
WMI_TABLE: dict[str, WmiEntry] = {
    # --- Indonesia: local assembly plants (MF-MK) ---------------------------------------
    "MHF": _e("PT Toyota Motor Manufacturing Indonesia", "Toyota", ID, CAR),
    # ADM builds Daihatsu and the Toyota twins (Avanza, Rush, Agya, Calya) under MHK.
    "MHK": _e("PT Astra Daihatsu Motor", ("Daihatsu", "Toyota"), ID, CAR),
    "MHR": _e("PT Honda Prospect Motor", "Honda", ID, CAR),
    "MHY": _e("PT Suzuki Indomobil Motor (cars)", "Suzuki", ID, CAR),
    "MHC": _e("PT Isuzu Astra Motor Indonesia", "Isuzu", ID, CAR),
    "MHL": _e("PT Mercedes-Benz Indonesia", "Mercedes-Benz", ID, CAR),
    "MH1": _e("PT Astra Honda Motor", "Honda", ID, MOTORCYCLE),
    "MH3": _e("PT Yamaha Indonesia Motor Manufacturing", "Yamaha", ID, MOTORCYCLE),
    # Printed on Ninja/KLX STNKs; not confirmed against the registry.
    "MH4": _e("PT Kawasaki Motor Indonesia", "Kawasaki", ID, MOTORCYCLE, certain=False),
    "MH8": _e("PT Suzuki Indomobil Motor (motorcycles)", "Suzuki", ID, MOTORCYCLE, certain=False),
    # Mitsubishi: MHM was the Krama Yudha (KTB/MKM) code for L300/Colt; MK2 the Bekasi
    # plant of Mitsubishi Motors Krama Yudha Indonesia (Xpander, Pajero Sport) since 2017.
    "MHM": _e("PT Mitsubishi Krama Yudha Motors and Manufacturing", "Mitsubishi", ID, CAR,
              certain=False),
    "MK2": _e("PT Mitsubishi Motors Krama Yudha Indonesia", "Mitsubishi", ID, CAR, certain=False),
    "MK3": _e("PT SGMW Motor Indonesia", "Wuling", ID, CAR, certain=False),
    "MF3": _e("PT Hyundai Motor Manufacturing Indonesia", "Hyundai", ID, CAR, certain=False),
    # --- Japan ------------------------------------------------------------------------
    "JT": _e("Toyota Motor Corporation", "Toyota", JP),
    "JTD": _e("Toyota Motor Corporation", "Toyota", JP, CAR),
    "JTE": _e("Toyota Motor Corporation", "Toyota", JP, CAR),
    "JTM": _e("Toyota Motor Corporation", "Toyota", JP, CAR),
    "JTH": _e("Toyota Motor Corporation (Lexus)", "Lexus", JP, CAR),
    "JTJ": _e("Toyota Motor Corporation (Lexus)", "Lexus", JP, CAR),
    "JDA": _e("Daihatsu Motor Co.", "Daihatsu", JP, CAR),
    "JH": _e("Honda Motor Co.", "Honda", JP),
    "JHM": _e("Honda Motor Co.", "Honda", JP, CAR),
    "JHL": _e("Honda Motor Co.", "Honda", JP, CAR),
    "JH4": _e("Honda Motor Co. (Acura)", "Acura", JP, CAR),
    "JH2": _e("Honda Motor Co.", "Honda", JP, MOTORCYCLE),
    "JH3": _e("Honda Motor Co.", "Honda", JP, MOTORCYCLE),
    "JN": _e("Nissan Motor Co.", "Nissan", JP),
    "JN1": _e("Nissan Motor Co.", "Nissan", JP, CAR),
    "JM": _e("Mazda Motor Corporation", "Mazda", JP),
    "JS": _e("Suzuki Motor Corporation", "Suzuki", JP),
    "JS1": _e("Suzuki Motor Corporation", "Suzuki", JP, MOTORCYCLE),
    "JS2": _e("Suzuki Motor Corporation", "Suzuki", JP, CAR),
    "JS3": _e("Suzuki Motor Corporation", "Suzuki", JP, CAR),
    "JA": _e("Isuzu Motors", "Isuzu", JP),  # vininfo agrees: JA alone is Isuzu
    "JAA": _e("Isuzu Motors", "Isuzu", JP, CAR),
    "JA3": _e("Mitsubishi Motors Corporation", "Mitsubishi", JP, CAR),
    "JA4": _e("Mitsubishi Motors Corporation", "Mitsubishi", JP, CAR),
    "JMB": _e("Mitsubishi Motors Corporation", "Mitsubishi", JP, CAR),
    "JMY": _e("Mitsubishi Motors Corporation", "Mitsubishi", JP, CAR),
    "JF": _e("Subaru Corporation", "Subaru", JP, CAR),
    "JY": _e("Yamaha Motor Co.", "Yamaha", JP, MOTORCYCLE),
    "JYA": _e("Yamaha Motor Co.", "Yamaha", JP, MOTORCYCLE),
    "JK": _e("Kawasaki Motors", "Kawasaki", JP, MOTORCYCLE),
    "JKA": _e("Kawasaki Motors", "Kawasaki", JP, MOTORCYCLE),
    # --- Thailand (ML-MR): common CBU imports into Indonesia ----------------------------
    "MR0": _e("Toyota Motor Thailand", "Toyota", TH, CAR),
    "MR1": _e("Toyota Motor Thailand", "Toyota", TH, CAR, certain=False),
    "MR2": _e("Toyota Motor Thailand", "Toyota", TH, CAR, certain=False),
    "MRH": _e("Honda Automobile Thailand", "Honda", TH, CAR),
    "MLH": _e("Thai Honda Manufacturing", "Honda", TH, MOTORCYCLE),
    "MMB": _e("Mitsubishi Motors Thailand", "Mitsubishi", TH, CAR),
    "MMC": _e("Mitsubishi Motors Thailand", "Mitsubishi", TH, CAR),
    "MMT": _e("Mitsubishi Motors Thailand", "Mitsubishi", TH, CAR),
    "ML3": _e("Mitsubishi Motors Thailand", "Mitsubishi", TH, CAR),
    "MMS": _e("Suzuki Motor Thailand", "Suzuki", TH, CAR),
    "MNT": _e("Nissan Motor Thailand", "Nissan", TH, CAR),
    "MM0": _e("AutoAlliance Thailand (Mazda)", "Mazda", TH, CAR),
    "MM8": _e("AutoAlliance Thailand (Mazda)", "Mazda", TH, CAR),
    "MNB": _e("Ford Thailand", "Ford", TH, CAR),
    "MPA": _e("Isuzu Motors Thailand", "Isuzu", TH, CAR),
    "MP1": _e("Isuzu Motors Thailand", "Isuzu", TH, CAR),
    "MLE": _e("Thai Yamaha Motor", "Yamaha", TH, MOTORCYCLE, certain=False),
    # --- India, Malaysia ----------------------------------------------------------------
    "MA3": _e("Maruti Suzuki India", "Suzuki", IN, CAR),
    "MAL": _e("Hyundai Motor India", "Hyundai", IN, CAR),
    "MBJ": _e("Toyota Kirloskar Motor", "Toyota", IN, CAR),
    "MD2": _e("Bajaj Auto", "Bajaj", IN, MOTORCYCLE),
    "PL1": _e("Proton", "Proton", MY, CAR),
    "PM2": _e("Perodua", "Perodua", MY, CAR, certain=False),
    # --- North America (1-5) ----------------------------------------------------------
    "1HG": _e("Honda of America Mfg.", "Honda", US, CAR),
    "1HF": _e("Honda of America Mfg.", "Honda", US, MOTORCYCLE),
    "2HG": _e("Honda of Canada Mfg.", "Honda", CA, CAR),
    "5FN": _e("Honda Manufacturing of Alabama", "Honda", US, CAR),
    "5J6": _e("Honda of America Mfg.", "Honda", US, CAR),
    "1FA": _e("Ford Motor Company", "Ford", US, CAR),
    "1FM": _e("Ford Motor Company", "Ford", US, CAR),
    "1FT": _e("Ford Motor Company (trucks)", "Ford", US, CAR),
    "1G1": _e("General Motors (Chevrolet)", "Chevrolet", US, CAR),
    "1GC": _e("General Motors (Chevrolet trucks)", "Chevrolet", US, CAR),
    "2T1": _e("Toyota Motor Manufacturing Canada", "Toyota", CA, CAR),
    "2T3": _e("Toyota Motor Manufacturing Canada", "Toyota", CA, CAR),
    "4T1": _e("Toyota Motor Manufacturing Kentucky", "Toyota", US, CAR),
    "5TD": _e("Toyota Motor Manufacturing Indiana", "Toyota", US, CAR),
    "5YJ": _e("Tesla, Inc.", "Tesla", US, CAR),
    "1N4": _e("Nissan North America", "Nissan", US, CAR),
    "3N1": _e("Nissan Mexicana", "Nissan", MX, CAR),
    "3VW": _e("Volkswagen de Mexico", "Volkswagen", MX, CAR),
    "4S3": _e("Subaru of Indiana Automotive", "Subaru", US, CAR),
    "5NP": _e("Hyundai Motor Manufacturing Alabama", "Hyundai", US, CAR),
    "5XY": _e("Kia Georgia", "Kia", US, CAR),
    # --- Europe -----------------------------------------------------------------------
    "WBA": _e("BMW AG", "BMW", DE, CAR),
    "WBS": _e("BMW M GmbH", "BMW", DE, CAR),
    "WB1": _e("BMW Motorrad", "BMW", DE, MOTORCYCLE),
    "WDB": _e("Mercedes-Benz AG", "Mercedes-Benz", DE, CAR),
    "WDD": _e("Mercedes-Benz AG", "Mercedes-Benz", DE, CAR),
    "W1K": _e("Mercedes-Benz AG", "Mercedes-Benz", DE, CAR),
    "WVW": _e("Volkswagen AG", "Volkswagen", DE, CAR),
    "WV1": _e("Volkswagen Commercial Vehicles", "Volkswagen", DE, CAR),
    "WAU": _e("Audi AG", "Audi", DE, CAR),
    "WP0": _e("Porsche AG", "Porsche", DE, CAR),
    "VF1": _e("Renault", "Renault", "France", CAR),
    "VF3": _e("Peugeot", "Peugeot", "France", CAR),
    "YV1": _e("Volvo Cars", "Volvo", "Sweden", CAR),
    "ZFA": _e("Fiat", "Fiat", "Italy", CAR),
    "ZAP": _e("Piaggio", "Vespa", "Italy", MOTORCYCLE),
    "SAL": _e("Land Rover", "Land Rover", "United Kingdom", CAR),
    # --- Korea --------------------------------------------------------------------------
    "KMH": _e("Hyundai Motor Company", "Hyundai", KR, CAR),
    "KNA": _e("Kia Corporation", "Kia", KR, CAR),
    "KND": _e("Kia Corporation", "Kia", KR, CAR),
    "KL1": _e("GM Korea", "Chevrolet", KR, CAR),
    "KPT": _e("SsangYong Motor", "SsangYong", KR, CAR),
    # --- China --------------------------------------------------------------------------
    "LGX": _e("BYD Auto", "BYD", CN, CAR),
    "LC0": _e("BYD Auto", "BYD", CN, CAR),
    "LZW": _e("SAIC-GM-Wuling", "Wuling", CN, CAR),
    "LVV": _e("Chery Automobile", "Chery", CN, CAR),
    "LSJ": _e("SAIC Motor (MG)", "MG", CN, CAR),
    "LGW": _e("Great Wall Motor", "Great Wall", CN, CAR),
    "L6T": _e("Geely Automobile", "Geely", CN, CAR),
    "LRW": _e("Tesla Shanghai", "Tesla", CN, CAR),
    "LHG": _e("GAC Honda", "Honda", CN, CAR),
    "LVG": _e("GAC Toyota", "Toyota", CN, CAR),
    "LFM": _e("FAW Toyota", "Toyota", CN, CAR),
}


def wmi_lookup(*, vin: str) -> tuple[str, WmiEntry | None]:
    """The WMI of a normalised VIN and our entry for it (three characters, then two).

    A third character "9" marks a small maker (< 1,000 vehicles a year) whose identity
    continues in positions 12-14; such a WMI is shown as its six characters.
    """
    wmi = vin[:3]
    if wmi[2] == "9" and f"{wmi}{vin[11:14]}" in WMI_TABLE:
        wmi = f"{wmi}{vin[11:14]}"
    entry = WMI_TABLE.get(wmi) or WMI_TABLE.get(wmi[:2])
    return wmi, entry
