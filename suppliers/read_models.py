"""The suppliers' read models, each rule stated once: the best offer per part (PartBestOffer),
and stock as its ledger sums it (Stock.on_hand and reserved against StockMovement).

suppliers.services refreshes the best offers with this SQL in the transaction of every change;
bulk paths (the demo, supplier feeds, bench/generate_suppliers.py) call that same refresh. The
checks here recompute each read model from scratch and compare it with what is stored (reads
only); `read_models_check` checks every read model of the suppliers and the apps below them,
which is what `manage.py check_read_models` prints.
"""

from __future__ import annotations

from catalog.read_models import catalog_read_models_check
from okto88.read_models import ReadModelCheck, read_model_compare
from suppliers.models import SupplierStatus
from suppliers.selectors import OFFER_RANKING_SQL, VISIBLE_OFFERS_SQL

# --- Best offer per part --------------------------------------------------------------------

# Per part with a visible offer (selectors.VISIBLE_OFFERS_SQL), the first of them in the one
# ranking the part page lists them by (selectors.OFFER_RANKING_SQL), and the totals: the rows
# of suppliers_partbestoffer. {where} narrows the offers: a part filter for a refresh, nothing
# for a rebuild or a check. Parameter: %(active)s, SupplierStatus.ACTIVE.
PART_BEST_OFFER_ROWS_SQL = f"""
WITH visible AS ({VISIBLE_OFFERS_SQL}),
best AS (
    SELECT DISTINCT ON (part_id) part_id, id, supplier_id, price, lead_time_days, available
    FROM visible ORDER BY part_id, {OFFER_RANKING_SQL}
),
totals AS (
    SELECT part_id, sum(available) AS total, count(DISTINCT supplier_id) AS suppliers
    FROM visible GROUP BY part_id
)
SELECT best.part_id, best.id AS offer_id, best.supplier_id, best.price, best.lead_time_days, best.available,
       totals.total AS total_available, totals.suppliers AS supplier_count
FROM best JOIN totals ON totals.part_id = best.part_id
"""  # noqa: S608 - fixed fragments only; every value is a parameter

PART_BEST_OFFER_COLUMNS = ("part_id", "offer_id", "supplier_id", "price", "lead_time_days", "available",
                           "total_available", "supplier_count")

# A part without a visible offer has no row, or the empty row a refresh leaves when its last
# offer goes (supplier_count 0): both read as "no offer", so the check takes them as equal.
_PART_BEST_OFFER_STORED_SQL = f"""
SELECT {", ".join(PART_BEST_OFFER_COLUMNS)} FROM suppliers_partbestoffer
WHERE (offer_id, supplier_id, price, lead_time_days, available, total_available, supplier_count)
      IS DISTINCT FROM (NULL, NULL, NULL, NULL, 0, 0, 0)
"""  # noqa: S608 - fixed fragments only


def part_best_offer_check() -> ReadModelCheck:
    """Every part's best-offer row against the one its offers, stock, warehouses and
    suppliers give."""
    return read_model_compare(
        name="best offers of parts (suppliers_partbestoffer)",
        expected_sql=PART_BEST_OFFER_ROWS_SQL.format(where=""),
        stored_sql=_PART_BEST_OFFER_STORED_SQL,
        key=("part_id",),
        params={"active": SupplierStatus.ACTIVE},
    )


# --- Stock and its ledger -------------------------------------------------------------------

# Stock rows that hold nothing and have no ledger (or one that sums to nothing) agree.
_LEDGER_SUMS_SQL = """
SELECT stock_id AS id, sum(on_hand_delta) AS on_hand, sum(reserved_delta) AS reserved
FROM suppliers_stockmovement GROUP BY stock_id
HAVING (sum(on_hand_delta), sum(reserved_delta)) <> (0, 0)
"""
_STOCK_STORED_SQL = "SELECT id, on_hand, reserved FROM suppliers_stock WHERE (on_hand, reserved) <> (0, 0)"


def stock_ledger_check() -> ReadModelCheck:
    """Every stock row's on_hand and reserved against the sums of its ledger (StockMovement),
    as the stock services write them together."""
    return read_model_compare(
        name="stock against its ledger (suppliers_stock, suppliers_stockmovement)",
        expected_sql=_LEDGER_SUMS_SQL, stored_sql=_STOCK_STORED_SQL, key=("id",),
    )


def read_models_check() -> list[ReadModelCheck]:
    """Every read model of the catalog and the suppliers, checked from scratch."""
    return [*catalog_read_models_check(), part_best_offer_check(), stock_ledger_check()]


__all__ = ["PART_BEST_OFFER_COLUMNS", "PART_BEST_OFFER_ROWS_SQL", "part_best_offer_check", "read_models_check",
           "stock_ledger_check"]
