"""Supplier price/stock feeds: upload, stream into a staging table, validate and merge in SQL.

The file (one row per supplier SKU, "wide" format):

    sku,brand,part_number,price,lead_time_days,stock_JKT1,stock_SBY1
    BR-0001,Toyota,04465-0K240,385000,2,12,0
    BR-0002,Bendix,DB1234,210000,,5,

- CSV (UTF-8, a BOM is fine, `,` or `;` as separator — Excel writes `;` in an Indonesian
  locale) or XLSX (the first sheet). The first line/row is the header; names are
  case-insensitive. Required: sku, brand, part_number, price. Optional: lead_time_days and
  one `stock_<warehouse code>` column per warehouse (any number, in any order). Any other
  column rejects the file (a typo must not drop data silently).
- price: whole rupiah > 0, written the Indonesian way or as plain digits (PRICE_RULE below).
  lead_time_days: 0-365; empty keeps the stored value
  (new offers: 1). stock: a whole number ≥ 0; an empty cell leaves that warehouse's stock as
  it is. A value below the stock already reserved by orders is refused.
- A row's part is found by brand (name or slug, case-insensitive) + the normalised part
  number (catalog.normalise, Part.number_key), else through a cross reference with that
  brand and number key (when it points to exactly one part).
- A row is the whole truth about its offer's price, lead time and the stock columns it
  fills. Offers and stock the file does not mention are left alone; nothing is deleted.

Limits (okto88.uploads, settings IMPORT_*): an XLSX is refused at upload, and again before
openpyxl opens it, when its zip directory promises too much (parts, uncompressed size, a
part's compression ratio); CSV lines, columns and rows are counted while the file is read,
and the first one over its limit fails the import with the reason. The task runs on the
imports queue (okto88.celery.route_task) with a soft time limit that fails the import with a
clear message.

How it runs (feed_import_run, from the Celery task suppliers.feed_import_run):
1. The file is streamed — never whole in memory — into a session temp table of text
   columns by psycopg COPY: CSV passes through in chunks cut at record boundaries (the
   server's CSV parser does the splitting); XLSX rows come from openpyxl read_only
   iter_rows. Each ~50,000 rows ends one COPY statement and updates `rows_done` in its own
   short transaction, so admin shows progress. A file-level problem (encoding, empty, wrong
   header, not CSV/XLSX) fails the import with a clear message and changes nothing.
2. One durable transaction, under an advisory lock per supplier, validates and merges.
   Validation is set-based SQL over the staging table (regexes on text, joins with the
   catalog and the warehouses), and in the same pass pairs each row with the stored offer of
   its SKU and that offer's stock in the file's warehouses: a row equal to them is dropped
   there, so a re-sent file writes next to nothing. Every problem becomes a row of the error
   report (row, column, value, message). Bad rows are skipped, good rows are applied.
3. The merge of the good rows, in the same transaction: new offers are inserted, changed ones
   updated; stock rows whose on_hand differs are locked (pk order, as suppliers.lock_objects
   does) and set, with one ledger row (reason `import`, reference `feed:<id>`) per real
   delta; the parts' best offers are brought up to date from the changed offers as they were
   and are (suppliers.services.best_offers.part_best_offer_apply); batched
   `offer.price_changed_batch` (new offer or new price) and `stock.changed_batch` (stock rows
   whose on_hand changed) outbox events, EVENT_BATCH items each, are written for real changes only.
   The import's status and counts are set in the same transaction, so a crash leaves either
   everything or nothing, and a re-delivered task re-runs cleanly. The status says what
   happened to the rows: `succeeded` (all applied), `partial` (some rejected, the rest
   applied), `failed` (the file could not be read, or every row was rejected). Re-importing a file
   changes nothing, writes no ledger row and no event.

The package, by step: `upload` (checks, the pending import, its task), `reads` (how fast an
import runs), `run` (one run to its end), `staging` (1), `validation` (2), `merge` (3) with its
`events`, `report` (the error report), and `session` (the temp tables and session settings every
step shares). What both importers do to read a table (encoding, delimiter, header, XLSX cells)
is okto88.tabular's; the names below are what the rest of the code uses.
"""

from suppliers.feeds.events import EVENT_BATCH
from suppliers.feeds.reads import feed_import_rate
from suppliers.feeds.report import REPORT_HEADER, feed_import_errors_head
from suppliers.feeds.run import FEED_MERGE_LOCK_NS, FEED_RUN_LOCK_NS, feed_import_run, feed_import_time_out
from suppliers.feeds.staging import EXPECTED_HEADER, READ_BLOCK
from suppliers.feeds.upload import (
    ALLOWED_EXTENSIONS,
    FEED_MEDIA_TYPES,
    MAX_UPLOAD_BYTES,
    feed_import_create,
    feed_upload_check,
)

__all__ = [
    "ALLOWED_EXTENSIONS",
    "EVENT_BATCH",
    "EXPECTED_HEADER",
    "FEED_MEDIA_TYPES",
    "FEED_MERGE_LOCK_NS",
    "FEED_RUN_LOCK_NS",
    "MAX_UPLOAD_BYTES",
    "READ_BLOCK",
    "REPORT_HEADER",
    "feed_import_create",
    "feed_import_errors_head",
    "feed_import_rate",
    "feed_import_run",
    "feed_import_time_out",
    "feed_upload_check",
]
