"""VIN decoding: normalisation, validation, WMI, model year, check digit, candidates."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from tests.vehicles.factories import MakeFactory, VehicleModelFactory, VehicleVariantFactory
from vehicles.errors import InvalidVin
from vehicles.selectors import variant_candidates_for_vin
from vehicles.services import CheckDigit, vin_decode


@pytest.fixture(autouse=True)
def english():
    """The reasons are checked in English here; tests/vehicles/test_vin_language.py checks Indonesian."""
    with translation.override("en"):
        yield


TODAY = date(2026, 11, 24)

# SAE J853 / 49 CFR 565, written out here independently of the code under test.
VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
          **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
          **dict(zip("STUVWXYZ", range(2, 10), strict=True))}
WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def check_char(vin: str) -> str:
    total = sum(VALUES[ch] * weight for ch, weight in zip(vin, WEIGHTS, strict=True)) % 11
    return "X" if total == 10 else str(total)


def with_check_digit(vin: str, *, correct: bool = True) -> str:
    right = check_char(vin)
    digit = right if correct else ("1" if right != "1" else "2")
    return vin[:8] + digit + vin[9:]


# --- North America: the check digit is mandatory --------------------------------------

def test_a_north_american_vin_with_a_correct_check_digit_is_valid():
    decoded = vin_decode(vin="1HGCM82633A004352", today=TODAY)
    assert decoded.check_digit == CheckDigit.VALID
    assert (decoded.wmi, decoded.make, decoded.country) == ("1HG", "Honda", "United States")
    assert decoded.region == "North America" and decoded.vehicle_type == "car"
    assert decoded.model_year == 2003  # position 7 is a digit: the 1980-2009 cycle


def test_a_north_american_vin_with_a_wrong_check_digit_is_flagged_invalid_not_rejected():
    decoded = vin_decode(vin="1HGCM82643A004352", today=TODAY)
    assert decoded.check_digit == CheckDigit.INVALID
    assert decoded.make == "Honda" and decoded.model_year == 2003


def test_a_north_american_position_7_letter_selects_the_2010_cycle():
    vin = with_check_digit("5YJ3E1EA0JF000001")  # position 7 "A", year code "J"
    decoded = vin_decode(vin=vin, today=TODAY)
    assert decoded.model_year == 2018 and decoded.make == "Tesla"
    assert decoded.check_digit == CheckDigit.VALID
    older = with_check_digit("1G1JC5240J7000001")  # position 7 "4": 1988
    assert vin_decode(vin=older, today=TODAY).model_year == 1988


# --- Japan: the check digit is optional -------------------------------------------------

def test_a_japanese_vin_without_a_check_digit_is_not_applicable():
    vin = with_check_digit("JTDBR32E720123456", correct=False)
    decoded = vin_decode(vin=vin, today=TODAY)
    assert decoded.check_digit == CheckDigit.NOT_APPLICABLE
    assert (decoded.make, decoded.country, decoded.region) == ("Toyota", "Japan", "Asia")


def test_a_japanese_vin_whose_position_9_happens_to_match_is_valid():
    decoded = vin_decode(vin=with_check_digit("JHMGE88400S000001"), today=TODAY)
    assert decoded.check_digit == CheckDigit.VALID and decoded.make == "Honda"


def test_japanese_motorcycle_wmis_say_so():
    assert vin_decode(vin="JYARN23E0DA000001", today=TODAY).vehicle_type == "motorcycle"
    assert vin_decode(vin="JKAEXMJ10DA000001", today=TODAY).make == "Kawasaki"


# --- Indonesia: local plants, never rejected for position 9 -----------------------------

def test_an_indonesian_suzuki_with_a_letter_in_position_9_is_decoded():
    decoded = vin_decode(vin="MHYKZE81SCJ115045", today=TODAY)  # as printed on an STNK
    assert decoded.check_digit == CheckDigit.NOT_APPLICABLE
    assert (decoded.make, decoded.country, decoded.vehicle_type) == ("Suzuki", "Indonesia", "car")
    assert decoded.manufacturer.startswith("PT Suzuki Indomobil")
    assert decoded.model_year == 2012


@pytest.mark.parametrize(
    ("vin", "make", "vehicle_type"),
    [
        ("MHFAB3FS0K0012345", "Toyota", "car"),
        ("MHKA4DA30LJ012345", "Daihatsu", "car"),
        ("MHRDD1750LJ012345", "Honda", "car"),
        ("MH1JFZ110KK123456", "Honda", "motorcycle"),
        ("MH3SG3120LJ123456", "Yamaha", "motorcycle"),
        ("MH8DL11AZJJ123456", "Suzuki", "motorcycle"),
        ("MK2NCXTANJJ012345", "Mitsubishi", "car"),
    ],
)
def test_indonesian_plants_are_never_rejected_for_the_check_digit(vin, make, vehicle_type):
    for candidate in (vin, with_check_digit(vin, correct=False)):
        decoded = vin_decode(vin=candidate, today=TODAY)
        assert decoded.check_digit != CheckDigit.INVALID
        assert decoded.make == make and decoded.vehicle_type == vehicle_type
        assert decoded.country == "Indonesia"


def test_astra_daihatsu_builds_both_daihatsu_and_toyota():
    assert vin_decode(vin="MHKA4DA30LJ012345", today=TODAY).makes == ("Daihatsu", "Toyota")


def test_a_maker_only_vininfo_knows_still_gets_a_name_and_country():
    decoded = vin_decode(vin="NLHA851AAGZ000001", today=TODAY)  # Hyundai Turkey (vininfo)
    assert decoded.manufacturer == "Hyundai" and decoded.country == "Turkey"
    assert decoded.wmi_certain is False


def test_an_unknown_wmi_decodes_without_a_maker():
    decoded = vin_decode(vin="AAA00000000000001", today=TODAY)
    assert decoded.make is None and decoded.makes == ()


# --- model year ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("code", "year"),
    [("A", 2010), ("L", 2020), ("T", 2026), ("V", 2027), ("W", 1998), ("Y", 2000),
     ("1", 2001), ("9", 2009)],
)
def test_outside_north_america_the_year_is_the_latest_not_after_next_year(code, year):
    vin = f"MHFAB3FS0{code}0012345"
    assert vin_decode(vin=vin, today=TODAY).model_year == year


def test_the_cycle_moves_with_the_calendar():
    assert vin_decode(vin="MHFAB3FS0W0012345", today=date(2027, 1, 2)).model_year == 2028


@pytest.mark.parametrize("code", ["U", "Z", "0"])
def test_position_10_that_is_no_year_code_gives_no_year(code):
    assert vin_decode(vin=f"MHFAB3FS0{code}0012345", today=TODAY).model_year is None


# --- normalisation and rejection --------------------------------------------------------

def test_lower_case_spaces_and_dashes_are_normalised():
    decoded = vin_decode(vin="  1hgcm8-2633a 004352\t", today=TODAY)
    assert decoded.vin == "1HGCM82633A004352" and decoded.check_digit == CheckDigit.VALID


@pytest.mark.parametrize(("vin", "length"), [("", 0), ("1HGCM82633A00435", 16),
                                               ("1HGCM82633A0043521", 18)])
def test_a_vin_of_the_wrong_length_is_rejected(vin, length):
    with pytest.raises(InvalidVin) as error:
        vin_decode(vin=vin)
    assert error.value.code == "invalid_vin" and error.value.status == 400
    assert error.value.message == f"A VIN has 17 characters; this one has {length}."


@pytest.mark.parametrize(("vin", "found"), [
    ("1HGCM82633I004352", "I at position 11"),
    ("OHGCM82633A004352", "O at position 1"),
    ("1HGCM8263QA00435Q", "Q at position 10, Q at position 17"),
    ("1hgcm82633a00o352", "O at position 14"),
])
def test_the_letters_i_o_and_q_are_rejected_saying_where(vin, found):
    with pytest.raises(InvalidVin) as error:
        vin_decode(vin=vin)
    assert "I, O or Q" in error.value.message and found in error.value.message


@pytest.mark.parametrize("vin", ["1HGCM82633A00435*", "1HGCM82633A0043.2", "1HGCM82633A00435É"])
def test_other_characters_are_rejected(vin):
    with pytest.raises(InvalidVin, match="only the letters A-Z"):
        vin_decode(vin=vin)


# --- candidate variants ------------------------------------------------------------------

@pytest.mark.django_db
def test_candidates_are_the_makes_variants_built_in_the_model_year():
    suzuki = MakeFactory(name="Suzuki")
    ertiga = VehicleModelFactory(make=suzuki, name="Ertiga")
    ends_that_year = VehicleVariantFactory(model=ertiga, year_from=2010, year_to=2012)
    starts_that_year = VehicleVariantFactory(model=ertiga, year_from=2012, year_to=None)
    same_year_both = VehicleVariantFactory(model=ertiga, year_from=2012, year_to=2012)
    VehicleVariantFactory(model=ertiga, year_from=2005, year_to=2011)  # ended the year before
    VehicleVariantFactory(model=ertiga, year_from=2013, year_to=None)  # started the year after
    satria = VehicleModelFactory(make=suzuki, name="Satria", vehicle_type="motorcycle")
    VehicleVariantFactory(model=satria, year_from=2004, year_to=None)  # MHY is the car plant
    toyota = VehicleModelFactory(make=MakeFactory(name="Toyota"))
    VehicleVariantFactory(model=toyota, year_from=2010)

    decoded = vin_decode(vin="MHYKZE81SCJ115045", today=TODAY)  # Suzuki car, 2012
    candidates = set(variant_candidates_for_vin(decoded=decoded))

    assert candidates == {ends_that_year, starts_that_year, same_year_both}


@pytest.mark.django_db
def test_an_astra_daihatsu_vin_offers_toyota_twins_too():
    avanza = VehicleVariantFactory(model=VehicleModelFactory(make=MakeFactory(name="Toyota")),
                                   year_from=2015, year_to=2021)
    xenia = VehicleVariantFactory(model=VehicleModelFactory(make=MakeFactory(name="Daihatsu")),
                                  year_from=2015, year_to=2021)
    decoded = vin_decode(vin="MHKA4DA30LJ012345", today=TODAY)  # 2020
    assert set(variant_candidates_for_vin(decoded=decoded)) == {avanza, xenia}


@pytest.mark.django_db
def test_a_vin_without_a_known_maker_has_no_candidates():
    VehicleVariantFactory()
    decoded = vin_decode(vin="AAA00000000000001", today=TODAY)
    assert list(variant_candidates_for_vin(decoded=decoded)) == []


# --- North America: position 7 picks the 30-year cycle (49 CFR 565.15) ----------------------

@pytest.mark.parametrize(
    ("vin", "year"),
    [
        ("1HGCM56685A000001", 2005),  # Honda Accord, Ohio: position 7 "6", year code "5"
        ("1HGCM82633A004352", 2003),
        ("1FTRX18W0VKA00001", 1997),  # Ford F-150: position 7 "1", year code "V"
        ("2T1BR32E0TC000001", 1996),  # Toyota Corolla, Canada: position 7 "2", year code "T"
        ("1G1JC5240L7000001", 1990),  # Chevrolet: position 7 "4", year code "L"
        ("5YJ3E1EA0LF000001", 2020),  # Tesla: position 7 "A", year code "L"
        ("1FTEW1EP0MF000001", 2021),  # Ford F-150: position 7 "E", year code "M"
    ],
)
def test_a_north_american_light_vehicle_built_before_2010_is_not_read_30_years_late(vin, year):
    decoded = vin_decode(vin=with_check_digit(vin), today=TODAY)
    assert decoded.model_year == year
    assert decoded.check_digit == CheckDigit.VALID


def test_a_north_american_motorcycle_is_not_read_by_position_7():
    # A 2012 Honda Gold Wing from Ohio: position 7 is a digit, but 565.15 does not tie it to
    # the cycle for motorcycles, so "C" is the latest year not after next year, not 1982.
    decoded = vin_decode(vin=with_check_digit("1HFSC6800CA000001"), today=TODAY)
    assert decoded.vehicle_type == "motorcycle" and decoded.model_year == 2012


@pytest.mark.parametrize(
    ("vin", "year"),
    [
        ("JT2SV21E0L3000001", 1990),  # Toyota Camry built in Japan for the US: position 7 "1", year code "L"
        ("JHMCB7650NC000001", 1992),  # Honda Accord, Japan: position 7 "6", year code "N"
        ("WBACA5310SF000001", 1995),  # BMW, Germany, US-market: position 7 "3", year code "S"
        ("JTDKN3DU0A0000001", 2010),  # Prius, Japan: position 7 "D" (a letter), year code "A"
    ],
)
def test_a_north_american_market_vin_built_elsewhere_is_read_by_position_7(vin, year):
    # 49 CFR 565 binds every vehicle sold in North America, wherever it is built: its check
    # digit verifies, and position 7 picks the cycle (a 1990 Camry is not a 2020 one).
    decoded = vin_decode(vin=with_check_digit(vin), today=TODAY)
    assert decoded.model_year == year


def test_an_indonesian_vin_whose_position_9_happens_to_verify_keeps_the_latest_cycle():
    # Indonesian plants put their own codes in position 9; a chance match is no 565 VIN.
    decoded = vin_decode(vin=with_check_digit("MHFM1BA30KK000001"), today=TODAY)
    assert decoded.model_year == 2019
