"""VIN decoding: normalise, validate, read WMI, model year and check digit. No database.

What `vininfo` gives us and we use: the SAE J853 check-digit computation
(`Vin.verify_checksum`), the ISO 3780 country and region tables, and its general WMI table
as a fallback for makers ours does not list.

What the project adds on top:
- normalisation of what people type or scan: lower case, spaces and dashes;
- one domain error, `InvalidVin` (`invalid_vin`), whose message says exactly what is wrong
  (the length, or which characters at which positions);
- Indonesian plants (MH*, MK*, MF*) and the brands each builds, spelled as `Make.name`,
  plus whether a WMI is for cars or motorcycles (see `vehicles.wmi`);
- a tri-state check digit: `valid` when position 9 matches, `invalid` only where the
  check digit is mandatory (North America, WMI 1-5), `not_applicable` elsewhere. Asian
  makers often put a plant or model code in position 9, so an Indonesian or Japanese VIN
  is never called invalid for it;
- one model year instead of `vininfo`'s list of candidates: for VINs made to 49 CFR 565
  (a North American WMI, or a plant elsewhere building for that market, whose check digit
  verifies) of the vehicles 565.15 covers (cars, MPVs, light trucks) the 30-year cycle is
  chosen by position 7 (letter: 2010-2039, digit: 1980-2009); elsewhere, and for
  motorcycles, the latest year that is not after next year.

An invalid North American check digit is reported as a flag, not rejected: the VIN is
still the best key we have (a workshop may have misread one character, and the rest of
the decode still narrows the candidates), and the UI warns the user to check it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext, gettext_noop
from vininfo import Vin
from vininfo.dicts import COUNTRIES, REGIONS
from vininfo.dicts import WMI as VININFO_WMI

from vehicles.errors import InvalidVin
from vehicles.wmi import MOTORCYCLE, WmiEntry, wmi_lookup

VIN_LENGTH = 17
FORBIDDEN_LETTERS = "IOQ"
# What people put between groups of a VIN when they copy it from a document.
SEPARATORS_RE = re.compile(r"[\s\-]+")
# ISO 3779 model-year codes, 1980 = "A" … 2009 = "9", then the cycle repeats.
YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"
YEAR_CYCLE = len(YEAR_CODES)  # 30
# First VIN character of North American WMIs (US 1, 4, 5; Canada 2; Mexico 3), where
# 49 CFR 565 makes the check digit mandatory.
NORTH_AMERICA = frozenset("12345")


class CheckDigit:
    VALID = "valid"
    INVALID = "invalid"
    NOT_APPLICABLE = "not_applicable"
    CHOICES = (VALID, INVALID, NOT_APPLICABLE)


@dataclass(frozen=True)
class DecodedVin:
    vin: str
    wmi: str
    vds: str
    vis: str
    manufacturer: str | None
    make: str | None
    makes: tuple[str, ...]
    country: str | None
    region: str | None
    vehicle_type: str | None
    model_year: int | None
    check_digit: str
    plant_code: str
    serial_number: str
    wmi_certain: bool


def vin_normalise(*, vin: str) -> str:
    return SEPARATORS_RE.sub("", vin or "").upper()


def _reason(template: str, **params: Any) -> Promise:
    """A reason written for people, formatted when it is read: the service has no request, the
    API and the pages translate it into their reader's language then."""
    def render() -> str:
        values = {key: value() if callable(value) else value for key, value in params.items()}
        return gettext(template) % values
    return lazy(render, str)()


def _positions(found: list[tuple[int, str]], *, quote: bool = False) -> Callable[[], str]:
    return lambda: ", ".join(gettext("%(char)s at position %(position)s") % {
        "char": repr(ch) if quote else ch, "position": pos} for pos, ch in found)


def vin_validate(*, vin: str) -> str:
    """Return the normalised VIN or raise `InvalidVin` saying what is wrong."""
    normalised = vin_normalise(vin=vin)
    if len(normalised) != VIN_LENGTH:
        raise InvalidVin(
            _reason(gettext_noop("A VIN has %(length)s characters; this one has %(count)s."),
                    length=VIN_LENGTH, count=len(normalised)),
            extra={"vin": normalised[:40]},  # echo enough to recognise it, not a whole paste
        )
    forbidden = [(pos, ch) for pos, ch in enumerate(normalised, start=1) if ch in FORBIDDEN_LETTERS]
    if forbidden:
        raise InvalidVin(
            _reason(gettext_noop("A VIN never contains the letters I, O or Q (they look like 1 and 0); "
                                 "found %(where)s."), where=_positions(forbidden)),
            extra={"vin": normalised},
        )
    other = [(pos, ch) for pos, ch in enumerate(normalised, start=1)
             if not (ch.isascii() and ch.isalnum())]
    if other:
        raise InvalidVin(
            _reason(gettext_noop("A VIN contains only the letters A-Z (without I, O, Q) and digits; "
                                 "found %(where)s."), where=_positions(other, quote=True)),
            extra={"vin": normalised},
        )
    return normalised


def vin_check_digit_status(*, vin: str) -> str:
    if Vin(vin).verify_checksum(check_year=False):
        return CheckDigit.VALID
    if vin[0] in NORTH_AMERICA:
        return CheckDigit.INVALID
    # Position 9 is not a check digit here (or not one that matches): many Asian makers
    # use it for a plant or model code, which is allowed outside North America.
    return CheckDigit.NOT_APPLICABLE


def _built_for_north_america(*, vin: str) -> bool:
    """A VIN made to 49 CFR 565: a North American WMI, or one from elsewhere (a Japanese,
    Korean or European plant building for that market) whose position 9 check digit verifies,
    as 565 requires of every vehicle sold there. Indonesian and other south-Asian plants
    (WMI M…) use position 9 for their own codes, so a chance match there says nothing."""
    if vin[0] in NORTH_AMERICA:
        return True
    return vin[0] != "M" and Vin(vin).verify_checksum(check_year=False)


def vin_model_year(*, vin: str, today: date | None = None, vehicle_type: str | None = None) -> int | None:
    """The model year (position 10). `vehicle_type` is what the WMI says (vehicles.wmi), if known."""
    code = vin[9]
    if code not in YEAR_CODES:
        return None  # U, Z, 0: not a year code (some non-North American makers)
    latest = (today or timezone.localdate()).year + 1
    year = 1980 + YEAR_CODES.index(code)
    # 49 CFR 565.15 ties position 7 to the cycle only for passenger cars, MPVs and trucks of
    # GVWR ≤ 10,000 lb; a motorcycle (or trailer, heavy truck) may use either kind of
    # character there, so its position 7 says nothing and it gets the rule of elsewhere.
    if _built_for_north_america(vin=vin) and vehicle_type != MOTORCYCLE:
        # Since model year 2010 position 7 is a letter for those vehicles; from 1980 to 2009 it
        # was a digit. That picks the cycle without guessing.
        if vin[6].isalpha():
            year += YEAR_CYCLE
        if year > latest:
            year -= YEAR_CYCLE
        return year
    while year + YEAR_CYCLE <= latest:
        year += YEAR_CYCLE
    return year


def _fallback_entry(*, wmi: str) -> WmiEntry | None:
    """vininfo's WMI table, for makers ours does not list."""
    assembler = VININFO_WMI.get(wmi[:3]) or VININFO_WMI.get(wmi[:2])
    if assembler is None:
        return None
    name = assembler if isinstance(assembler, str) else assembler.manufacturer
    return WmiEntry(manufacturer=name, makes=(name,), country=COUNTRIES.get(wmi[:2], ""),
                    vehicle_type=None, certain=False)


def vin_decode(*, vin: str, today: date | None = None) -> DecodedVin:
    """Decode a VIN (no database); raises `InvalidVin`. `today` fixes the clock in tests."""
    normalised = vin_validate(vin=vin)
    wmi, entry = wmi_lookup(vin=normalised)
    if entry is None:
        entry = _fallback_entry(wmi=wmi)
    region = next((title for chars, title in REGIONS.items() if normalised[0] in chars), None)
    return DecodedVin(
        vin=normalised,
        wmi=wmi,
        vds=normalised[3:9],
        vis=normalised[9:],
        manufacturer=entry.manufacturer if entry else None,
        make=entry.make if entry else None,
        makes=entry.makes if entry else (),
        country=(entry.country if entry and entry.country else COUNTRIES.get(normalised[:2])),
        region=region,
        vehicle_type=entry.vehicle_type if entry else None,
        model_year=vin_model_year(vin=normalised, today=today, vehicle_type=entry.vehicle_type if entry else None),
        check_digit=vin_check_digit_status(vin=normalised),
        plant_code=normalised[10],
        serial_number=normalised[11:],
        wmi_certain=bool(entry and entry.certain),
    )
