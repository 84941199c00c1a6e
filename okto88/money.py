"""Rupiah, written the Indonesian way: dot thousands, no decimals (money is integer rupiah)."""

from __future__ import annotations


def rupiah_digits(amount: int) -> str:
    """125000 → '125.000' (no sign handling beyond Python's: '-5.000')."""
    return f"{int(amount):,}".replace(",", ".")


def rupiah(amount: int) -> str:
    """12500 → 'Rp 12.500', -5000 → '-Rp 5.000'."""
    amount = int(amount)
    return f"-Rp {rupiah_digits(-amount)}" if amount < 0 else f"Rp {rupiah_digits(amount)}"
