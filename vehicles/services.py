"""Vehicle services. VIN decoding is pure computation and lives in `vehicles.vin`; it is
exposed here so that interfaces depend on services, as everywhere else."""

from __future__ import annotations

from vehicles.vin import CheckDigit, DecodedVin, vin_decode

__all__ = ["CheckDigit", "DecodedVin", "vin_decode"]
