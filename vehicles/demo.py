"""Demo vehicles for `make run`: the best-selling cars and motorcycles in Indonesia.

Idempotent and deterministic: makes, models and variants are matched by natural keys
(make name; make + model slug; model + generation + name + first year) and only the
missing rows are inserted, in a handful of queries. Make names are the ones the WMI table
(`vehicles.wmi`) maps VINs to, and model names are the ones the catalog demo looks up.

Generations, years, engine codes and displacements follow the manufacturers' Indonesian
line-ups. Car data is believed accurate at generation level; motorcycle generation labels
are the names used in the trade (Karbu, FI, eSP, …) and their engine codes are given only
where they are widely printed, so a blank engine code means "not recorded", not "none".
"""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from vehicles.models import Fuel, Make, Transmission, VehicleModel, VehicleType, VehicleVariant

CAR, MOTO = VehicleType.CAR, VehicleType.MOTORCYCLE
P, D, H = Fuel.PETROL, Fuel.DIESEL, Fuel.HYBRID
MT, AT, CVT = Transmission.MANUAL, Transmission.AUTOMATIC, Transmission.CVT

MAKES: dict[str, str] = {
    "Toyota": "Japan", "Daihatsu": "Japan", "Honda": "Japan", "Mitsubishi": "Japan",
    "Suzuki": "Japan", "Yamaha": "Japan", "Kawasaki": "Japan",
}

# (generation, name, year_from, year_to, engine_code, displacement_cc, fuel, transmission, body)
Variant = tuple[str, str, int, int | None, str, int | None, str, str, str]

# make -> model -> (vehicle type, variants)
MODELS: dict[str, dict[str, tuple[str, list[Variant]]]] = {
    "Toyota": {
        "Avanza": (CAR, [
            ("F600", "1.3 G M/T", 2004, 2011, "K3-VE", 1298, P, MT, "MPV"),
            ("F600", "1.5 S A/T", 2006, 2011, "3SZ-VE", 1495, P, AT, "MPV"),
            ("F650", "1.3 G M/T", 2011, 2015, "K3-VE", 1298, P, MT, "MPV"),
            ("F650", "1.5 Veloz A/T", 2011, 2015, "3SZ-VE", 1495, P, AT, "MPV"),
            ("F650 Grand New", "1.3 G M/T", 2015, 2021, "1NR-VE", 1329, P, MT, "MPV"),
            ("F650 Grand New", "1.5 Veloz A/T", 2015, 2021, "2NR-VE", 1496, P, AT, "MPV"),
            ("W100", "1.3 E M/T", 2021, None, "1NR-VE", 1329, P, MT, "MPV"),
            ("W100", "1.5 G CVT", 2021, None, "2NR-VE", 1496, P, CVT, "MPV"),
        ]),
        "Innova": (CAR, [
            ("AN40 Kijang Innova", "2.0 G M/T", 2004, 2015, "1TR-FE", 1998, P, MT, "MPV"),
            ("AN40 Kijang Innova", "2.5 G Diesel M/T", 2004, 2015, "2KD-FTV", 2494, D, MT, "MPV"),
            ("AN140 Innova Reborn", "2.0 G A/T", 2015, None, "1TR-FE", 1998, P, AT, "MPV"),
            ("AN140 Innova Reborn", "2.4 V Diesel A/T", 2015, None, "2GD-FTV", 2393, D, AT, "MPV"),
            ("AG10 Innova Zenix", "2.0 G CVT", 2022, None, "M20A-FKS", 1987, P, CVT, "MPV"),
            ("AG10 Innova Zenix", "2.0 Q Hybrid", 2022, None, "M20A-FXS", 1987, H, CVT, "MPV"),
        ]),
        "Rush": (CAR, [
            ("F700", "1.5 G M/T", 2007, 2017, "3SZ-VE", 1495, P, MT, "SUV"),
            ("F700", "1.5 S A/T", 2007, 2017, "3SZ-VE", 1495, P, AT, "SUV"),
            ("F800", "1.5 G M/T", 2018, None, "2NR-VE", 1496, P, MT, "SUV"),
            ("F800", "1.5 GR Sport A/T", 2018, None, "2NR-VE", 1496, P, AT, "SUV"),
        ]),
        "Agya": (CAR, [
            ("B100", "1.0 G M/T", 2013, 2023, "1KR-VE", 998, P, MT, "hatchback"),
            ("B100", "1.2 G A/T", 2017, 2023, "3NR-VE", 1197, P, AT, "hatchback"),
            ("A350", "1.2 G CVT", 2023, None, "WA-VE", 1198, P, CVT, "hatchback"),
        ]),
        "Calya": (CAR, [
            ("B400", "1.2 G M/T", 2016, None, "3NR-VE", 1197, P, MT, "MPV"),
            ("B400", "1.2 G A/T", 2016, None, "3NR-VE", 1197, P, AT, "MPV"),
        ]),
        "Fortuner": (CAR, [
            ("AN50", "2.5 G Diesel A/T", 2005, 2015, "2KD-FTV", 2494, D, AT, "SUV"),
            ("AN160", "2.4 VRZ Diesel A/T", 2016, None, "2GD-FTV", 2393, D, AT, "SUV"),
        ]),
    },
    "Daihatsu": {
        "Xenia": (CAR, [
            ("F600", "1.0 Li M/T", 2004, 2011, "EJ-VE", 989, P, MT, "MPV"),
            ("F600", "1.3 Xi M/T", 2006, 2011, "K3-VE", 1298, P, MT, "MPV"),
            ("F650", "1.0 D M/T", 2011, 2015, "1KR-DE", 998, P, MT, "MPV"),
            ("F650", "1.3 R M/T", 2011, 2015, "K3-VE", 1298, P, MT, "MPV"),
            ("F650 Great New", "1.3 R A/T", 2015, 2021, "1NR-VE", 1329, P, AT, "MPV"),
            ("W100", "1.3 X M/T", 2021, None, "1NR-VE", 1329, P, MT, "MPV"),
            ("W100", "1.5 R CVT", 2021, None, "2NR-VE", 1496, P, CVT, "MPV"),
        ]),
        "Ayla": (CAR, [
            ("B100", "1.0 M M/T", 2013, 2023, "1KR-VE", 998, P, MT, "hatchback"),
            ("B100", "1.2 R A/T", 2017, 2023, "3NR-VE", 1197, P, AT, "hatchback"),
            ("A350", "1.0 X CVT", 2023, None, "1KR-VE", 998, P, CVT, "hatchback"),
            ("A350", "1.2 R CVT", 2023, None, "WA-VE", 1198, P, CVT, "hatchback"),
        ]),
        "Sigra": (CAR, [
            ("B400", "1.0 M M/T", 2016, None, "1KR-DE", 998, P, MT, "MPV"),
            ("B400", "1.2 R A/T", 2016, None, "3NR-VE", 1197, P, AT, "MPV"),
        ]),
        "Terios": (CAR, [
            ("F700", "1.5 TX M/T", 2007, 2017, "3SZ-VE", 1495, P, MT, "SUV"),
            ("F700", "1.5 TX A/T", 2007, 2017, "3SZ-VE", 1495, P, AT, "SUV"),
            ("F800", "1.5 R M/T", 2018, None, "2NR-VE", 1496, P, MT, "SUV"),
            ("F800", "1.5 R A/T", 2018, None, "2NR-VE", 1496, P, AT, "SUV"),
        ]),
        "Gran Max": (CAR, [
            ("S400", "1.3 Pick Up M/T", 2007, 2021, "K3-DE", 1298, P, MT, "pickup"),
            ("S400", "1.5 Blind Van M/T", 2008, 2021, "3SZ-VE", 1495, P, MT, "van"),
            ("S400 facelift", "1.3 Pick Up M/T", 2022, None, "1NR-VE", 1329, P, MT, "pickup"),
            ("S400 facelift", "1.5 Blind Van M/T", 2022, None, "2NR-VE", 1496, P, MT, "van"),
        ]),
    },
    "Honda": {
        "Brio": (CAR, [
            ("DD1", "1.2 E M/T", 2012, 2018, "L12B", 1198, P, MT, "hatchback"),
            ("DD1", "1.2 Satya S M/T", 2014, 2018, "L12B", 1198, P, MT, "hatchback"),
            ("DD2", "1.2 Satya E M/T", 2018, None, "L12B", 1199, P, MT, "hatchback"),
            ("DD2", "1.2 RS CVT", 2018, None, "L12B", 1199, P, CVT, "hatchback"),
        ]),
        "HR-V": (CAR, [
            ("RU", "1.5 E CVT", 2015, 2021, "L15Z", 1497, P, CVT, "SUV"),
            ("RU", "1.8 Prestige CVT", 2015, 2021, "R18Z", 1799, P, CVT, "SUV"),
            ("RV", "1.5 SE CVT", 2022, None, "L15ZF", 1498, P, CVT, "SUV"),
            ("RV", "1.5 Turbo RS CVT", 2022, None, "L15CA", 1498, P, CVT, "SUV"),
        ]),
        "Jazz": (CAR, [
            ("GD", "1.5 i-DSI A/T", 2004, 2008, "L15A", 1497, P, AT, "hatchback"),
            ("GE8", "1.5 RS A/T", 2008, 2014, "L15A", 1497, P, AT, "hatchback"),
            ("GK5", "1.5 RS CVT", 2014, 2021, "L15Z", 1497, P, CVT, "hatchback"),
        ]),
        "Mobilio": (CAR, [
            ("DD4", "1.5 E M/T", 2014, 2022, "L15Z", 1497, P, MT, "MPV"),
            ("DD4", "1.5 RS CVT", 2014, 2022, "L15Z", 1497, P, CVT, "MPV"),
        ]),
        "Beat": (MOTO, [
            ("Karbu", "Beat 110 CW", 2008, 2012, "", 108, P, CVT, "scooter"),
            ("FI", "Beat FI CBS", 2012, 2016, "", 108, P, CVT, "scooter"),
            ("eSP", "Beat eSP CBS", 2016, 2019, "JFZ1E", 110, P, CVT, "scooter"),
            ("K1A", "Beat CBS", 2020, None, "", 110, P, CVT, "scooter"),
            ("K1A", "Beat Street", 2020, None, "", 110, P, CVT, "scooter"),
        ]),
        "Vario": (MOTO, [
            ("Vario 110", "Vario 110 FI", 2014, 2019, "", 110, P, CVT, "scooter"),
            ("Vario 125 eSP", "Vario 125 CBS", 2015, 2022, "", 125, P, CVT, "scooter"),
            ("Vario 150 eSP", "Vario 150", 2015, 2022, "", 150, P, CVT, "scooter"),
            ("Vario 125 (2022)", "Vario 125 CBS", 2022, None, "", 125, P, CVT, "scooter"),
            ("Vario 160", "Vario 160 ABS", 2022, None, "", 157, P, CVT, "scooter"),
        ]),
        "Scoopy": (MOTO, [
            ("FI", "Scoopy FI", 2013, 2016, "", 108, P, CVT, "scooter"),
            ("eSP", "Scoopy eSP", 2017, 2020, "", 110, P, CVT, "scooter"),
            ("K2F", "Scoopy Prestige", 2021, None, "", 110, P, CVT, "scooter"),
        ]),
        "PCX": (MOTO, [
            ("PCX 150", "PCX 150 CBS", 2018, 2020, "", 149, P, CVT, "scooter"),
            ("PCX 160", "PCX 160 ABS", 2021, None, "", 157, P, CVT, "scooter"),
        ]),
        "Supra X 125": (MOTO, [
            ("FI", "Supra X 125 FI CW", 2014, None, "", 125, P, MT, "underbone"),
        ]),
        "CBR150R": (MOTO, [
            ("K45", "CBR150R", 2016, None, "", 149, P, MT, "sport"),
        ]),
    },
    "Mitsubishi": {
        "Xpander": (CAR, [
            ("NC1W", "1.5 GLS M/T", 2017, None, "4A91", 1499, P, MT, "MPV"),
            ("NC1W", "1.5 Ultimate A/T", 2017, 2021, "4A91", 1499, P, AT, "MPV"),
            ("NC1W facelift", "1.5 Ultimate CVT", 2021, None, "4A91", 1499, P, CVT, "MPV"),
            ("NC1W Cross", "1.5 Cross CVT", 2019, None, "4A91", 1499, P, CVT, "MPV"),
        ]),
        "Pajero Sport": (CAR, [
            ("KH", "2.5 Exceed A/T", 2009, 2015, "4D56", 2477, D, AT, "SUV"),
            ("QE", "2.4 Dakar A/T", 2016, None, "4N15", 2442, D, AT, "SUV"),
        ]),
        "L300": (CAR, [
            ("Colt L300", "2.5 Pick Up M/T", 1992, 2022, "4D56", 2477, D, MT, "pickup"),
            ("L300 Euro4", "2.3 Pick Up M/T", 2022, None, "4N14", 2268, D, MT, "pickup"),
        ]),
    },
    "Suzuki": {
        "Ertiga": (CAR, [
            ("ZE81S", "1.4 GL M/T", 2012, 2018, "K14B", 1373, P, MT, "MPV"),
            ("ZE81S", "1.4 GX A/T", 2012, 2018, "K14B", 1373, P, AT, "MPV"),
            ("NC22S", "1.5 GX A/T", 2018, 2022, "K15B", 1462, P, AT, "MPV"),
            ("NC22S Smart Hybrid", "1.5 Hybrid GX A/T", 2022, None, "K15B", 1462, H, AT, "MPV"),
        ]),
        "Carry": (CAR, [
            ("Futura", "1.5 Pick Up M/T", 2010, 2019, "G15A", 1493, P, MT, "pickup"),
            ("New Carry", "1.5 Pick Up M/T", 2019, None, "K15B", 1462, P, MT, "pickup"),
            ("New Carry", "1.5 Wide Deck M/T", 2019, None, "K15B", 1462, P, MT, "pickup"),
        ]),
        "XL7": (CAR, [
            ("NC22S", "1.5 Alpha A/T", 2020, None, "K15B", 1462, P, AT, "SUV"),
        ]),
        "Satria": (MOTO, [
            ("Satria FU Karbu", "Satria F150", 2004, 2016, "", 147, P, MT, "underbone"),
            ("Satria FU FI", "Satria F150 FI", 2016, None, "", 147, P, MT, "underbone"),
        ]),
        "Nex": (MOTO, [
            ("Nex II", "Nex II", 2018, None, "", 113, P, CVT, "scooter"),
        ]),
    },
    "Yamaha": {
        "NMAX": (MOTO, [
            ("Gen 1 (2DP)", "NMAX 155 ABS", 2015, 2019, "", 155, P, CVT, "scooter"),
            ("Gen 2", "NMAX 155 Connected ABS", 2020, 2024, "", 155, P, CVT, "scooter"),
            ("Turbo", "NMAX Turbo", 2024, None, "", 155, P, CVT, "scooter"),
        ]),
        "Aerox": (MOTO, [
            ("Aerox 155 VVA", "Aerox 155 S", 2016, 2020, "", 155, P, CVT, "scooter"),
            ("All New Aerox 155", "Aerox 155 Connected", 2021, None, "", 155, P, CVT, "scooter"),
        ]),
        "Mio": (MOTO, [
            ("Mio Sporty", "Mio Sporty Karbu", 2003, 2012, "", 113, P, CVT, "scooter"),
            ("Mio M3 125", "Mio M3 125 Blue Core", 2014, 2023, "", 125, P, CVT, "scooter"),
            ("Mio Gear 125", "Mio Gear 125", 2020, None, "", 125, P, CVT, "scooter"),
        ]),
        "Jupiter Z1": (MOTO, [
            ("FI", "Jupiter Z1", 2012, None, "", 113, P, MT, "underbone"),
        ]),
        "Vixion": (MOTO, [
            ("Vixion", "Vixion 150", 2007, None, "", 150, P, MT, "naked"),
        ]),
        "R15": (MOTO, [
            ("V3", "R15 V3", 2017, 2021, "", 155, P, MT, "sport"),
            ("V4", "R15 V4", 2022, None, "", 155, P, MT, "sport"),
        ]),
    },
    "Kawasaki": {
        "Ninja 250": (MOTO, [
            ("EX250K", "Ninja 250R", 2008, 2012, "", 249, P, MT, "sport"),
            ("EX250L", "Ninja 250 FI", 2013, 2017, "", 249, P, MT, "sport"),
            ("EX250P", "Ninja 250", 2018, None, "", 248, P, MT, "sport"),
        ]),
        "KLX 150": (MOTO, [
            ("KLX150", "KLX 150 BF", 2009, None, "", 144, P, MT, "trail"),
        ]),
    },
}


@transaction.atomic
def demo_load() -> list[str]:
    Make.objects.bulk_create(
        [Make(name=name, slug=slugify(name), country=country) for name, country in MAKES.items()],
        ignore_conflicts=True,
    )
    makes = {make.name: make for make in Make.objects.filter(name__in=MAKES)}

    VehicleModel.objects.bulk_create(
        [
            VehicleModel(make=makes[make_name], name=model_name, slug=slugify(model_name),
                         vehicle_type=vehicle_type)
            for make_name, models in MODELS.items()
            for model_name, (vehicle_type, _variants) in models.items()
        ],
        ignore_conflicts=True,  # the (make, slug) unique constraint is the natural key
    )
    models_by_key = {
        (model.make_id, model.slug): model
        for model in VehicleModel.objects.filter(make__in=makes.values())
    }

    # Variants have no unique constraint of their own: compare natural keys in Python.
    existing = set(
        VehicleVariant.objects.filter(model__in=models_by_key.values())
        .values_list("model_id", "generation", "name", "year_from")
    )
    new_variants = []
    for make_name, models in MODELS.items():
        for model_name, (vehicle_type, variants) in models.items():
            model = models_by_key[(makes[make_name].pk, slugify(model_name))]
            for generation, name, year_from, year_to, engine, cc, fuel, gearbox, body in variants:
                if (model.pk, generation, name, year_from) in existing:
                    continue
                new_variants.append(VehicleVariant(
                    model=model, generation=generation, name=name, year_from=year_from,
                    year_to=year_to, engine_code=engine, displacement_cc=cc, fuel=fuel,
                    transmission=gearbox, body=body, vehicle_type=vehicle_type,
                ))
    VehicleVariant.objects.bulk_create(new_variants)

    variant_count = VehicleVariant.objects.filter(model__in=models_by_key.values()).count()
    return [f"vehicles: {len(makes)} makes, {len(models_by_key)} models, {variant_count} variants"]
