"""Validation: set-based SQL over the staging table (regexes on text, joins with the catalog and
the warehouses); every problem becomes a row of feed_error, the error report's source."""

from __future__ import annotations

from django.utils.translation import gettext as _

from catalog.normalise import PART_NUMBER_KEY_SQL, PART_NUMBER_MAX_LENGTH
from suppliers.feeds.session import OFFER_DIFFERS_SQL, _analyze, _blank_condition
from suppliers.offer_limits import (
    LEAD_TIME_MAX_DAYS,
    LEAD_TIME_MIN_DAYS,
    PRICE_MAX_DIGITS,
    PRICE_MIN,
    SKU_MAX_LENGTH,
    STOCK_MAX,
)

# PRICE_RULE: a price is whole rupiah, as plain digits (189000) or with a dot before every
# group of three digits (189.000, 1.250.000), the Indonesian way; "Rp", "Rp." or "Rp " may come
# first and ",00", ",0" or ",-" last. Anything else is refused with a message saying how to write
# it, never guessed: "189,000" (comma thousands), "189.00" or "12.50" (dot decimals) and
# "189.000,50" (real cents) would each mean two different amounts to two different readers.
# A fractional XLSX number cell is staged with a decimal comma (okto88.tabular.table_xlsx_text), so 189.5 cannot be
# read as a thousands group. At most PRICE_MAX_DIGITS digits, so no price above PRICE_MAX.
_PRICE_PATTERN = rf"^-?([0-9]{{1,{PRICE_MAX_DIGITS}}}|[0-9]{{1,3}}(\.[0-9]{{3}}){{1,{(PRICE_MAX_DIGITS - 1) // 3}}})$"


# A row with any of these problems is refused; the error report below gives each its message
# (the same conditions, one column at a time). Alias r: a row of feed_row.
_ROW_PROBLEM_SQL = f"""(r.sku IS NULL OR length(r.sku) > {SKU_MAX_LENGTH} OR r.brand IS NULL
    OR r.part_number IS NULL OR r.number_key = '' OR length(r.part_number) > {PART_NUMBER_MAX_LENGTH}
    OR r.part_id IS NULL OR r.price IS NULL OR r.price < {PRICE_MIN}
    OR (r.lead_text IS NOT NULL AND (r.lead_time IS NULL OR r.lead_time > {LEAD_TIME_MAX_DAYS}
                                     OR r.lead_time < {LEAD_TIME_MIN_DAYS})))"""


def _validate(cursor, *, supplier_id: int) -> None:
    """feed_row: the file's rows that are new, changed or wrong, each with the stored offer of its
    SKU and the stored stock of its cells. A row equal to its stored offer and stock is dropped in
    the same pass, before anything wide is written: a re-sent file writes next to nothing. Runs in
    the merge's transaction, under the supplier's merge lock, so no other import of the supplier
    changes what it compared with."""
    cursor.execute(
        "UPDATE feed_column c SET warehouse_id = w.id FROM suppliers_warehouse w "
        "WHERE w.supplier_id = %s AND upper(w.code) = upper(c.code)",
        [supplier_id],
    )
    cursor.execute("SELECT warehouse_id FROM feed_column ORDER BY col")
    warehouses = [row[0] for row in cursor.fetchall()]
    n_stock = len(warehouses)
    cursor.execute("DROP TABLE IF EXISTS pg_temp.feed_brand, pg_temp.feed_dup, pg_temp.feed_row, "
                   "pg_temp.feed_cell, pg_temp.feed_error")
    # A brand is named by its name or its slug, case-insensitive; names win over slugs.
    cursor.execute(
        "CREATE TEMP TABLE feed_brand AS SELECT DISTINCT ON (k) k AS brand_key, id AS brand_id FROM ("
        " SELECT lower(name) AS k, id, 0 AS o FROM catalog_brand"
        " UNION ALL SELECT lower(slug), id, 1 FROM catalog_brand) b ORDER BY k, o"
    )
    # Every row of a repeated SKU is refused, changed or not: the repeats are found over the whole
    # file first (one hash aggregate; only the repeated SKUs are kept).
    cursor.execute(
        "CREATE TEMP TABLE feed_dup AS SELECT btrim(c_sku) AS sku FROM feed_stage "
        "WHERE btrim(c_sku) <> '' GROUP BY 1 HAVING count(*) > 1"
    )
    repeats = cursor.rowcount
    _analyze(cursor, "feed_brand", "feed_dup")  # small: hashed, the million feed rows probe them
    # A first load (no offer of the supplier yet) has nothing stored to compare with: skip the
    # joins, which would hash the supplier's offers and stock for nothing.
    cursor.execute("SELECT EXISTS (SELECT 1 FROM suppliers_offer WHERE supplier_id = %s)", [supplier_id])
    stored = cursor.fetchone()[0]
    number_key = PART_NUMBER_KEY_SQL.format("coalesce(s.part_number, '')")
    # No SKU repeated (the usual file): no join to probe a million times for nothing.
    duplicate, duplicate_join = ("d.sku IS NOT NULL", "LEFT JOIN feed_dup d ON d.sku = v.sku") if repeats else (
        "false", "")
    cells = "".join(f", nullif(btrim(w{i}), '') AS v{i}" for i in range(n_stock))
    # The stored side: (expression in the supplier's offers and stock, type, name).
    stored_values = [("o.id", "bigint", "offer_id"), ("o.part_id", "bigint", "offer_part_id"),
                     ("o.price", "bigint", "offer_price"), ("o.lead_time_days", "int", "offer_lead_time")]
    stock_joins = []
    cell_changed = []
    for i, warehouse_id in enumerate(warehouses):
        if warehouse_id is None:
            stored_values += [("NULL::bigint", "bigint", f"stock_id{i}"), ("NULL::int", "int", f"on_hand{i}")]
        else:
            stock_joins.append(f"LEFT JOIN suppliers_stock s{i} ON s{i}.offer_id = o.id "
                               f"AND s{i}.warehouse_id = {int(warehouse_id)}")
            stored_values += [(f"s{i}.id", "bigint", f"stock_id{i}"), (f"s{i}.on_hand", "int", f"on_hand{i}")]
        # Kept when filled and not the stored quantity as written by PostgreSQL: new, another
        # quantity, an unknown warehouse, anything but plain digits (the stock errors below say
        # what is wrong) or the same quantity written otherwise ("007": found unchanged later).
        cell_changed.append(f"(r.v{i} IS NOT NULL AND r.v{i} IS DISTINCT FROM r.on_hand{i}::text)")
    if stored:
        # The supplier's offers joined with their stock first (OFFSET 0 keeps them together): the
        # file's rows then probe one hash of them, not one per table (a cache miss each, a
        # million times; the planner splits them up when it knows the supplier has that many).
        stored_columns = ", ".join(f"o.{name}" for _expr, _type, name in stored_values)
        inner = ", ".join(f"{expr} AS {name}" for expr, _type, name in stored_values)
        stored_join = (f"LEFT JOIN (SELECT o.sku, {inner} FROM suppliers_offer o {' '.join(stock_joins)} "  # noqa: S608
                       f"WHERE o.supplier_id = {int(supplier_id)} OFFSET 0) o ON o.sku = r.sku")
    else:
        stored_columns = ", ".join(f"NULL::{type_} AS {name}" for _expr, type_, name in stored_values)
        stored_join = ""
    # IS NOT FALSE: a row is dropped only when it is certainly unchanged.
    keep = " OR ".join(["r.offer_id IS NULL", "r.duplicate", _ROW_PROBLEM_SQL, OFFER_DIFFERS_SQL, *cell_changed])
    # Only generated column names, ids and constant SQL are interpolated, never file content.
    feed_row_sql = f"""
        CREATE TEMP TABLE feed_row AS
        WITH s AS (
            SELECT row_no, nullif(btrim(c_sku), '') AS sku, nullif(btrim(c_brand), '') AS brand,
                   nullif(btrim(c_part_number), '') AS part_number, nullif(btrim(c_price), '') AS price_text,
                   nullif(btrim(c_lead_time_days), '') AS lead_text{cells}
            FROM feed_stage WHERE NOT ({_blank_condition(cursor)}) OFFSET 0
        ), n AS (
            -- OFFSET 0 at each step: every value is computed once per row and then referred to,
            -- not written out again wherever it is used (nor stored in between).
            -- The normalised number (catalog.normalise) is the hash key against catalog_part.
            SELECT s.*, {number_key} AS number_key,
                   lower(s.brand) AS brand_key,
                   -- The price without "Rp"/"Rp." in front and ",00"/",-" behind (PRICE_RULE);
                   -- plain digits (nearly every row) have neither, and skip the expressions.
                   CASE WHEN btrim(s.price_text, '0123456789') = '' THEN s.price_text
                        ELSE regexp_replace(regexp_replace(s.price_text, '^(-?)[\\s\\u00a0]*rp\\.?[\\s\\u00a0]*',
                                                           '\\1', 'i'),
                                            ',(0{{1,2}}|-)$', '') END AS price_bare
            FROM s OFFSET 0
        ), v AS (
            SELECT n.*,
               -- 1 to PRICE_MAX_DIGITS digits is _PRICE_PATTERN's first form, told without it.
               CASE WHEN btrim(n.price_bare, '0123456789') = ''
                         AND length(n.price_bare) BETWEEN 1 AND {PRICE_MAX_DIGITS} THEN n.price_bare::bigint
                    WHEN n.price_bare ~ '{_PRICE_PATTERN}'
                    THEN replace(n.price_bare, '.', '')::bigint END AS price,
               -- '^[0-9]{{1,3}}$' without the regular expression.
               CASE WHEN btrim(n.lead_text, '0123456789') = '' AND length(n.lead_text) BETWEEN 1 AND 3
                    THEN n.lead_text::int END AS lead_time
            FROM n OFFSET 0
        ), r AS (
            SELECT v.*, p.id AS part_id, NULL::bigint AS xref_parts, {duplicate} AS duplicate
            FROM v
            LEFT JOIN feed_brand b ON b.brand_key = v.brand_key
            LEFT JOIN catalog_part p ON p.brand_id = b.brand_id AND p.number_key = v.number_key
            {duplicate_join}
        )
        SELECT * FROM (SELECT r.*, {stored_columns} FROM r {stored_join}) r
        WHERE ({keep}) IS NOT FALSE
    """  # noqa: S608
    cursor.execute(feed_row_sql)
    # Not found by brand + number: try the cross references (only the few unmatched rows).
    cursor.execute(
        """
        UPDATE feed_row r SET part_id = CASE WHEN x.n = 1 THEN x.part_id END, xref_parts = x.n
        FROM (
            SELECT r.row_no, min(c.part_id) AS part_id, count(DISTINCT c.part_id) AS n
            FROM feed_row r JOIN catalog_crossreference c
              ON c.number_key = r.number_key AND lower(c.brand_name) = r.brand_key
            WHERE r.part_id IS NULL AND r.number_key <> ''
            GROUP BY r.row_no
        ) x
        WHERE x.row_no = r.row_no
        """
    )
    _analyze(cursor, "feed_row")
    # The filled stock cells of those rows, with the stored stock row of each (if any).
    unpivot = ", ".join(f"({i}, v{i}, stock_id{i}, on_hand{i})" for i in range(n_stock))
    cursor.execute("CREATE TEMP TABLE feed_cell (row_no bigint, col int, value text, stock_id bigint, on_hand int)")
    if n_stock:
        cursor.execute(f"""
            INSERT INTO feed_cell
            SELECT r.row_no, v.col, v.value, v.stock_id, v.on_hand FROM feed_row r
            CROSS JOIN LATERAL (VALUES {unpivot}) v(col, value, stock_id, on_hand)
            WHERE v.value IS NOT NULL
        """)  # noqa: S608
    _analyze(cursor, "feed_cell", "feed_column")
    cursor.execute("CREATE TEMP TABLE feed_error (row_no bigint, col text, value text, message text)")
    m = {
        "sku_required": _("A supplier SKU is required."),
        "sku_long": _("A SKU has at most %(max)d characters.") % {"max": SKU_MAX_LENGTH},
        "brand_required": _("A brand is required."),
        "number_required": _("A part number is required."),
        "number_bad": _("The part number has no letters or digits."),
        "number_long": _("A part number has at most %(max)d characters.") % {"max": PART_NUMBER_MAX_LENGTH},
        "price_required": _("A price is required."),
        "price_nan": _("The price must be a whole number of rupiah, written 189000, 189.000 or Rp 189.000: a dot "
                       "separates thousands (groups of three digits) and a comma starts decimals, which can only "
                       "be ,00."),
        "price_low": _("The price must be greater than 0."),  # PRICE_MIN is 1
        "lead_bad": _("The lead time must be a whole number of days from %(min)d to %(max)d.")
        % {"min": LEAD_TIME_MIN_DAYS, "max": LEAD_TIME_MAX_DAYS},
        "unknown_part": _("No catalog part matches this brand and part number (nor a cross reference)."),
        "ambiguous": _("The number matches several catalog parts through cross references; use the "
                       "part's own brand and number."),
        "duplicate": _("This SKU appears more than once in the file (rows {rows}); none of them was applied."),
        "stock_nan": _("Stock must be a whole number (digits only)."),
        "stock_negative": _("Stock must not be negative."),
        "stock_large": _("Stock is too large."),
        "warehouse": _("Unknown warehouse code “{code}” for this supplier."),
    }
    cursor.execute(
        """
        INSERT INTO feed_error (row_no, col, value, message)
        SELECT r.row_no, e.col, e.value, e.message FROM feed_row r
        CROSS JOIN LATERAL (VALUES
          ('sku', r.sku, CASE WHEN r.sku IS NULL THEN %(sku_required)s
                              WHEN length(r.sku) > %(sku_max)s THEN %(sku_long)s END),
          ('brand', r.brand, CASE WHEN r.brand IS NULL THEN %(brand_required)s END),
          ('part_number', r.part_number,
               CASE WHEN r.part_number IS NULL THEN %(number_required)s
                    WHEN r.number_key = '' THEN %(number_bad)s
                    WHEN length(r.part_number) > %(number_max)s THEN %(number_long)s
                    WHEN r.brand IS NOT NULL AND r.part_id IS NULL AND coalesce(r.xref_parts, 0) > 1
                         THEN %(ambiguous)s
                    WHEN r.brand IS NOT NULL AND r.part_id IS NULL THEN %(unknown_part)s END),
          ('price', r.price_text,
               CASE WHEN r.price_text IS NULL THEN %(price_required)s
                    WHEN r.price IS NULL THEN %(price_nan)s
                    WHEN r.price < %(price_min)s THEN %(price_low)s END),
          ('lead_time_days', r.lead_text,
               CASE WHEN r.lead_text IS NOT NULL AND (r.lead_time IS NULL OR r.lead_time > %(max_lead)s
                                                      OR r.lead_time < %(min_lead)s)
                    THEN %(lead_bad)s END)
        ) e(col, value, message)
        WHERE e.message IS NOT NULL
          -- Only rows with some problem go through the per-column unpivot.
          AND """ + _ROW_PROBLEM_SQL,  # noqa: S608
        {**m, "sku_max": SKU_MAX_LENGTH, "number_max": PART_NUMBER_MAX_LENGTH, "price_min": PRICE_MIN,
         "min_lead": LEAD_TIME_MIN_DAYS, "max_lead": LEAD_TIME_MAX_DAYS},
    )
    cursor.execute(
        """
        INSERT INTO feed_error (row_no, col, value, message)
        WITH r AS MATERIALIZED (SELECT row_no, sku FROM feed_row WHERE duplicate)
        SELECT r.row_no, 'sku', r.sku, replace(%s, '{rows}', d.rows)
        FROM r JOIN (
            SELECT sku, string_agg(row_no::text, ', ' ORDER BY row_no) AS rows FROM r GROUP BY sku
        ) d ON d.sku = r.sku
        """,
        [m["duplicate"]],
    )
    cursor.execute(
        """
        INSERT INTO feed_error (row_no, col, value, message)
        SELECT c.row_no, 'stock_' || k.code, c.value,
               CASE WHEN k.warehouse_id IS NULL THEN replace(%s, '{code}', k.code)
                    WHEN c.value ~ '^-[0-9]+$' THEN %s
                    WHEN c.value !~ '^[0-9]+$' THEN %s
                    ELSE %s END
        FROM feed_cell c JOIN feed_column k USING (col)
        -- Not 1 to 10 digits ('^[0-9]{1,10}$', without the regular expression), or too large.
        WHERE k.warehouse_id IS NULL OR btrim(c.value, '0123456789') <> '' OR length(c.value) > 10
           OR c.value::bigint > %s
        """,
        [m["warehouse"], m["stock_negative"], m["stock_nan"], m["stock_large"], STOCK_MAX],
    )
    _analyze(cursor, "feed_error")
