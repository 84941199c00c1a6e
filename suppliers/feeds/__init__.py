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
2. Validation is set-based SQL over the staging table (regexes on text, joins with the
   catalog and the warehouses); every problem becomes a row of the error report
   (row, column, value, message). Bad rows are skipped, good rows are applied.
3. One durable transaction merges the good rows: new offers are inserted, changed ones
   updated; stock rows whose on_hand differs are locked (pk order, as suppliers.lock_objects
   does) and set, with one ledger row (reason `import`, reference `feed:<id>`) per real
   delta; the parts' best offers are refreshed; batched
   `offer.price_changed_batch` (new offer or new price) and `stock.changed_batch` (stock rows
   whose on_hand changed) outbox events, EVENT_BATCH items each, are written for real changes only.
   The import's status and counts are set in the same transaction, so a crash leaves either
   everything or nothing, and a re-delivered task re-runs cleanly. The status says what
   happened to the rows: `succeeded` (all applied), `partial` (some rejected, the rest
   applied), `failed` (the file could not be read, or every row was rejected). Re-importing a file
   changes nothing, writes no ledger row and no event.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import File
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from okto88.celery import task_send
from okto88.errors import UploadRefused
from okto88.services import NewOutboxEvent, outbox_events_write
from okto88.uploads import (
    upload_columns_check,
    upload_line_check,
    upload_pending_check,
    upload_rows_check,
    upload_zip_check,
)
from suppliers.errors import (
    FeedEmptyFile,
    FeedEncodingError,
    FeedFileError,
    FeedFileUnsupported,
    FeedHeaderError,
    FeedImportNotFound,
    FeedUploadTooLarge,
)
from suppliers.events import (
    offer_price_changed_batch_payload,
    offer_price_changed_payload,
    stock_changed_batch_payload,
    stock_changed_payload,
)
from suppliers.models import FeedImport, FeedStatus, Supplier
from suppliers.offer_limits import (
    LEAD_TIME_MAX_DAYS,
    LEAD_TIME_MIN_DAYS,
    PRICE_MAX_DIGITS,
    PRICE_MIN,
    SKU_MAX_LENGTH,
    STOCK_MAX,
)
from suppliers.selectors import supplier_for_actor
from suppliers.services import part_best_offer_refresh

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ["sku", "brand", "part_number", "price"]
OPTIONAL_COLUMNS = ["lead_time_days"]
STOCK_PREFIX = "stock_"
EXPECTED_HEADER = "sku,brand,part_number,price,lead_time_days,stock_<warehouse code>…"
ALLOWED_EXTENSIONS = (".csv", ".txt", ".xlsx")
# The media types a feed may be sent as (a multipart part's Content-Type); a file named
# otherwise is still read when its part says it is one of these (the worker sniffs which).
FEED_MEDIA_TYPES = ("text/csv", "text/plain", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
PROGRESS_EVERY = 50_000
READ_BLOCK = 1 << 20
# Serialises the merges of one supplier's feeds (key 2 is the supplier id).
FEED_MERGE_LOCK_NS = 0x0C7F
# Held by the worker running an import: a second delivery of the task finds it taken.
FEED_RUN_LOCK_NS = 0x0C7E
REPORT_HEADER = ["row", "column", "value", "message"]
# PRICE_RULE: a price is whole rupiah, as plain digits (189000) or with a dot before every
# group of three digits (189.000, 1.250.000), the Indonesian way; "Rp", "Rp." or "Rp " may come
# first and ",00", ",0" or ",-" last. Anything else is refused with a message saying how to write
# it, never guessed: "189,000" (comma thousands), "189.00" or "12.50" (dot decimals) and
# "189.000,50" (real cents) would each mean two different amounts to two different readers.
# A fractional XLSX number cell is staged with a decimal comma (_xlsx_text), so 189.5 cannot be
# read as a thousands group. At most PRICE_MAX_DIGITS digits, so no price above PRICE_MAX.
_PRICE_PATTERN = rf"^-?([0-9]{{1,{PRICE_MAX_DIGITS}}}|[0-9]{{1,3}}(\.[0-9]{{3}}){{1,{(PRICE_MAX_DIGITS - 1) // 3}}})$"


# --- Upload and reads ----------------------------------------------------------------------


def feed_upload_check(*, file: Any) -> str:
    """Refuse an upload before anything is stored: its type, its size, and for an XLSX what its
    zip directory says it unpacks to (okto88.uploads). Returns the file's base name."""
    name = Path(getattr(file, "name", "") or "feed.csv").name
    media_type = (getattr(file, "content_type", "") or "").split(";")[0].strip().lower()
    if not name.lower().endswith(ALLOWED_EXTENSIONS) and media_type not in FEED_MEDIA_TYPES:
        raise FeedFileUnsupported(
            _("Upload a CSV (.csv) or Excel (.xlsx) file; “%(name)s” is neither.") % {"name": name}
        )
    size = getattr(file, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise FeedUploadTooLarge(
            _("The file is larger than %(mb)d MB.") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
        )
    if _looks_like_xlsx(file, name):
        try:
            upload_zip_check(file=file)
        except UploadRefused as exc:
            raise FeedUploadTooLarge(exc.message, extra=exc.extra) from exc
    return name


def _looks_like_xlsx(file: Any, name: str) -> bool:
    file.seek(0)
    head = file.read(4)
    file.seek(0)
    return head.startswith(b"PK\x03\x04") or name.lower().endswith(".xlsx")


def feed_import_create(*, supplier: Supplier, file: Any, actor: Any = None) -> FeedImport:
    """Store the uploaded file as a pending import; the Celery task starts after commit."""
    name = feed_upload_check(file=file)
    created_by = actor if getattr(actor, "_meta", None) is not None else None  # not an API client
    with transaction.atomic():
        feed_import = FeedImport(supplier=supplier, original_name=name[:200], created_by=created_by)
        feed_import.file.save(name, file if isinstance(file, File) else File(file, name=name), save=False)
        feed_import.save()
        feed_import_id = feed_import.pk
        # Enqueue only once the row is visible to the worker.
        transaction.on_commit(lambda: _enqueue(feed_import_id))
    return feed_import


def _enqueue(feed_import_id: int) -> None:
    task_send("suppliers.feed_import_run", kwargs={"feed_import_id": feed_import_id})


def feed_import_list(*, actor: Any) -> QuerySet[FeedImport]:
    """Imports the actor may see: its supplier's, or all for operators."""
    supplier = supplier_for_actor(actor=actor)
    qs = FeedImport.objects.select_related("supplier").order_by("-created_at", "-pk")
    return qs if supplier is None else qs.filter(supplier=supplier)


def feed_import_get(*, actor: Any, feed_import_id: int) -> FeedImport:
    """One import the actor may see; another supplier's looks exactly like a missing one."""
    feed_import = feed_import_list(actor=actor).filter(pk=feed_import_id).first()
    if feed_import is None:
        raise FeedImportNotFound()
    return feed_import


def feed_import_rate(*, feed_import: FeedImport) -> float | None:
    """Rows per second: so far while running, overall once finished."""
    if feed_import.started_at is None:
        return None
    end = feed_import.finished_at or timezone.now()
    seconds = (end - feed_import.started_at).total_seconds()
    done = feed_import.rows_total if feed_import.finished_at else feed_import.rows_done
    if seconds <= 0 or not done:
        return None
    return round(done / seconds, 1)


def feed_import_errors_head(*, feed_import: FeedImport, limit: int = 20) -> list[dict[str, Any]]:
    """The first rows of the error report, for the API and admin."""
    if not feed_import.errors_report:
        return []
    rows: list[dict[str, Any]] = []
    with feed_import.errors_report.open("rb") as handle:
        reader = csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8-sig", newline=""))
        for row in reader:
            rows.append({"row": int(row["row"]), "column": row["column"], "value": row["value"],
                         "message": row["message"]})
            if len(rows) >= limit:
                break
    return rows


# --- Running an import ----------------------------------------------------------------------


@dataclass
class _Layout:
    """Where each file column goes in the staging table."""

    targets: list[str | None]  # per file column: staging column name
    stock_codes: list[str]  # stock column i -> warehouse code as written in the header


def feed_import_run(*, feed_import: FeedImport, time_limit_seconds: float | None = None) -> FeedImport:
    """Run one import to its end. A second delivery while it runs, or after it ended, does nothing.
    `time_limit_seconds` is the caller's soft time limit, named in the error when it strikes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [FEED_RUN_LOCK_NS, feed_import.pk])
        if not cursor.fetchone()[0]:
            return feed_import  # another worker is running it right now
    try:
        # Pending, or running with nobody holding the lock (a worker died mid-run: the merge
        # is one transaction, so nothing of it was committed and it can start over).
        claimed = FeedImport.objects.filter(
            pk=feed_import.pk, status__in=[FeedStatus.PENDING, FeedStatus.RUNNING]
        ).update(status=FeedStatus.RUNNING, started_at=timezone.now(), finished_at=None, rows_done=0,
                 error="")
        feed_import.refresh_from_db()
        if not claimed:
            return feed_import
        try:
            _run(feed_import)
        except (FeedFileError, UploadRefused) as exc:
            _fail(feed_import, exc.message)
        except SoftTimeLimitExceeded:
            # Raised wherever the task was, possibly inside a query: the session may be mid-statement.
            _connection_discard()
            _fail(feed_import, _time_out_message(time_limit_seconds or settings.IMPORT_SOFT_TIME_LIMIT_SECONDS))
        except Exception as exc:
            logger.exception("feed import failed", extra={"feed_import_id": feed_import.pk})
            _fail(feed_import, _("The import stopped on an unexpected error (%(error)s); nothing was "
                                 "changed. Try again, or contact okto88 support.")
                  % {"error": type(exc).__name__})
        feed_import.refresh_from_db()
        return feed_import
    finally:
        _drop_temp_tables()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [FEED_RUN_LOCK_NS, feed_import.pk])


def feed_import_time_out(*, feed_import_id: int | None, time_limit_seconds: float | None = None) -> None:
    """The run was killed at its hard time limit (its process is gone, and with it its session,
    so its merge was rolled back): a running import ends as failed instead of running forever."""
    if feed_import_id is None:
        return
    message = _time_out_message(time_limit_seconds or settings.IMPORT_TIME_LIMIT_SECONDS)
    FeedImport.objects.filter(pk=feed_import_id, status=FeedStatus.RUNNING).update(
        status=FeedStatus.FAILED, error=message, finished_at=timezone.now(), offers_changed=0, stock_changed=0)


def _time_out_message(seconds: float) -> str:
    return _("The import took longer than %(limit)s and was stopped; nothing was changed. Split the file "
             "into smaller files and upload them one by one.") % {"limit": _duration(seconds)}


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return _("%(n)d minutes") % {"n": round(seconds / 60)}
    return _("%(n)d seconds") % {"n": max(1, round(seconds))}


def _connection_discard() -> None:
    """Cancel the statement the session may still be running (a server blocked on a lock would not
    notice a closed socket), then close it; the next query opens a new session. The temp tables
    and the session's run lock go with the old one."""
    raw = connection.connection
    if raw is not None:
        try:
            raw.cancel()
        except Exception:  # already broken: closing is all that is left
            logger.info("feed import statement not cancelled", extra={"connection": "broken"})
    try:
        connection.close()
    except DatabaseError:
        logger.info("feed import connection closed after an interruption")


def _fail(feed_import: FeedImport, message: str) -> None:
    FeedImport.objects.filter(pk=feed_import.pk).update(
        status=FeedStatus.FAILED, error=message, finished_at=timezone.now(), offers_changed=0,
        stock_changed=0,
    )


_TEMP_TABLES = ("feed_stage", "feed_column", "feed_brand", "feed_row", "feed_cell", "feed_error",
                "feed_ok", "feed_stock", "feed_new_offer", "feed_offer_changed", "feed_stock_changed",
                "feed_offer_diff", "feed_stock_diff", "feed_refused")


TEMP_BUFFERS = "256MB"


def _temp_buffers(cursor) -> None:
    """Keep the staging tables (session temp tables, ~100 MB at a million rows) in the
    backend's local buffers instead of going through the kernel: the default 8 MB evicts on
    every pass. It can only be set before the session's first temp table, so every import sets
    the same value; a session that already used temp tables with another keeps that one."""
    try:
        with transaction.atomic():
            cursor.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
    except DatabaseError:
        logger.info("temp_buffers not raised: this session already used temp tables")


def _client_check(cursor) -> None:
    """A run stopped by its time limit closes its session, possibly mid-statement (a merge
    waiting on a lock): the server then ends that statement within seconds instead of running
    it, or waiting, for a client that is gone. Linux only; elsewhere the setting stays 0."""
    try:
        with transaction.atomic():
            cursor.execute("SET client_connection_check_interval = '2s'")
    except DatabaseError:
        logger.info("client_connection_check_interval not supported here")


def _drop_temp_tables() -> None:
    if connection.connection is None:
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS " + ", ".join(f"pg_temp.{t}" for t in _TEMP_TABLES))
        cursor.execute("RESET work_mem")
        cursor.execute("RESET client_connection_check_interval")


class _Phases:
    """Wall time per phase of one import, logged with its summary (bench/feed_bench.py prints it)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.monotonic()

    def mark(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self._last, 3)
        self._last = now


def _run(feed_import: FeedImport) -> None:
    phases = _Phases()
    with connection.cursor() as cursor:
        # Hash joins, hash aggregates and sorts over a million rows stay in memory (per
        # operation; one import runs per worker process). RESET in feed_import_run's cleanup.
        cursor.execute("SET work_mem = '256MB'")
        _temp_buffers(cursor)
        _client_check(cursor)
    supplier_id = feed_import.supplier_id
    with feed_import.file.open("rb") as handle:
        head = handle.read(4)
        handle.seek(0)
        is_xlsx = head.startswith(b"PK\x03\x04") or feed_import.original_name.lower().endswith(".xlsx")
        rows_total = _stage_xlsx(feed_import, handle) if is_xlsx else _stage_csv(feed_import, handle)
    phases.mark("stage")
    with connection.cursor() as cursor:
        _validate(cursor, supplier_id=supplier_id)
    phases.mark("validate")
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [FEED_MERGE_LOCK_NS, supplier_id])
        phases.mark("merge lock")
        counts = _merge(cursor, feed_import=feed_import, phases=phases)
        cursor.execute("SELECT count(DISTINCT row_no) FROM feed_error")
        rejected = cursor.fetchone()[0]
        if rejected:
            _save_report(cursor, feed_import)
        feed_import.status, feed_import.error = _outcome(rows_total=rows_total, rejected=rejected)
        feed_import.rows_total = rows_total
        feed_import.rows_done = rows_total
        feed_import.rows_rejected = rejected
        feed_import.offers_changed = counts["offers"]
        feed_import.stock_changed = counts["stock"]
        feed_import.finished_at = timezone.now()
        feed_import.save(update_fields=["status", "error", "rows_total", "rows_done", "rows_rejected", "offers_changed",
                                        "stock_changed", "finished_at", "errors_report"])
        phases.mark("report and status")
    phases.mark("commit")  # the deferred foreign-key checks run here
    logger.info(
        "feed import",
        extra={"feed_import_id": feed_import.pk, "supplier_id": supplier_id, "rows": rows_total,
               "rows_rejected": rejected, "offers_changed": counts["offers"], "stock_changed": counts["stock"],
               "events": counts["events"], "phases": phases.seconds},
    )


def _outcome(*, rows_total: int, rejected: int) -> tuple[str, str]:
    """Succeeded only when every row was applied; a feed whose rows were all rejected failed,
    even though the file itself could be read."""
    if not rejected:
        return FeedStatus.SUCCEEDED, ""
    if rejected >= rows_total:
        return FeedStatus.FAILED, _("None of the %(rows)d rows could be applied, so nothing was changed. The "
                                    "error report lists the problem of every row.") % {"rows": rows_total}
    return FeedStatus.PARTIAL, ""


# --- Staging ---------------------------------------------------------------------------------


def _layout(header: list[str]) -> _Layout:
    names = [(h or "").strip().lower() for h in header]
    targets: list[str | None] = []
    stock_codes: list[str] = []
    unknown, missing = [], [c for c in REQUIRED_COLUMNS if c not in names]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    for raw, name in zip(header, names, strict=True):
        if name in REQUIRED_COLUMNS or name in OPTIONAL_COLUMNS:
            targets.append(f"c_{name}")
        elif name.startswith(STOCK_PREFIX) and len(name) > len(STOCK_PREFIX):
            targets.append(f"w{len(stock_codes)}")
            stock_codes.append((raw or "").strip()[len(STOCK_PREFIX):].strip())
        else:
            unknown.append(name or _("(empty)"))
            targets.append(None)
    if missing or unknown or repeated:
        problems = []
        if missing:
            problems.append(_("missing columns: %s") % ", ".join(missing))
        if unknown:
            problems.append(_("unknown columns: %s") % ", ".join(unknown))
        if repeated:
            problems.append(_("repeated columns: %s") % ", ".join(repeated))
        raise FeedHeaderError(
            _("The header is wrong (%(problems)s). The first line must be: %(expected)s "
              "(lead_time_days and the stock columns are optional; one stock_<code> column per "
              "warehouse, e.g. stock_JKT1).") % {"problems": "; ".join(problems), "expected": EXPECTED_HEADER},
            extra={"missing": missing, "unknown": unknown, "expected": EXPECTED_HEADER},
        )
    return _Layout(targets=targets, stock_codes=stock_codes)


def _create_stage(cursor, layout: _Layout) -> None:
    stock_columns = "".join(f", w{i} text" for i in range(len(layout.stock_codes)))
    cursor.execute("DROP TABLE IF EXISTS pg_temp.feed_stage, pg_temp.feed_column")
    # Text columns only: every value is checked by the validation's regexes, so a bad value
    # becomes a row error instead of a failed COPY. The header is row 1.
    cursor.execute(
        "CREATE TEMP TABLE feed_stage (row_no bigint GENERATED BY DEFAULT AS IDENTITY (START 2), "
        f"c_sku text, c_brand text, c_part_number text, c_price text, c_lead_time_days text{stock_columns})"
    )
    cursor.execute("CREATE TEMP TABLE feed_column (col int PRIMARY KEY, code text, warehouse_id bigint)")
    for i, code in enumerate(layout.stock_codes):
        cursor.execute("INSERT INTO feed_column VALUES (%s, %s, NULL)", [i, code])


def _progress(feed_import: FeedImport, rows_done: int) -> None:
    # Autocommit (outside the merge's transaction): admin sees it at once.
    FeedImport.objects.filter(pk=feed_import.pk).update(rows_done=rows_done)


def _check_utf8(block: bytes, *, line_before: int) -> None:
    try:
        block.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = line_before + block.count(b"\n", 0, exc.start) + 1
        raise FeedEncodingError(
            _("The file is not UTF-8 text (byte 0x%(byte)02X on line %(line)d). Save it as “CSV UTF-8” "
              "and upload it again.") % {"byte": block[exc.start], "line": line},
            extra={"line": line},
        ) from exc
    if b"\x00" in block:
        raise FeedFileError(_("The file contains NUL bytes; it is not a CSV file."))


_BLANK_LINE = re.compile(rb"(?m)^[ \t]*\r?\n")


def _stage_csv(feed_import: FeedImport, handle) -> int:
    """COPY the CSV through in chunks cut at record boundaries; returns the number of data rows."""
    first = handle.read(READ_BLOCK)
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FeedEncodingError(_("The file is UTF-16 (Excel “Unicode text”), not UTF-8. Save it as "
                                  "“CSV UTF-8” and upload it again."))
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8):]
    if not first.strip():
        raise FeedEmptyFile(_("The file is empty."))
    end = first.find(b"\n")
    while end < 0:  # a header longer than one block: read on
        upload_pending_check(pending=first, lines_before=0)
        more = handle.read(READ_BLOCK)
        if not more:
            end = len(first)
            break
        first += more
        end = first.find(b"\n")
    header_bytes = first[:end]
    upload_line_check(block=header_bytes, lines_before=0)
    _check_utf8(header_bytes, line_before=0)
    header_text = header_bytes.decode("utf-8").rstrip("\r")
    delimiter = ";" if header_text.count(";") > header_text.count(",") else ","
    header = next(csv.reader([header_text], delimiter=delimiter))
    upload_columns_check(columns=len(header))
    layout = _layout(header)
    ncols = len(header)
    columns = ", ".join(layout.targets)  # all mapped: _layout raised on unknown columns
    # An empty line would be "missing data" to COPY: write it as a row of empty fields so that
    # row numbers still match the file's lines (validation skips empty rows).
    # The server takes the line ending from the first line; keep the file's.
    newline = b"\r\n" if header_bytes.endswith(b"\r") else b"\n"
    empty_row = delimiter.encode() * (ncols - 1) + newline
    copy_sql = f"COPY feed_stage ({columns}) FROM STDIN (FORMAT csv, DELIMITER '{delimiter}')"

    chunks = _csv_chunks(handle, first[end + 1:], empty_row=empty_row, newline=newline)
    lines = 1  # the header
    with connection.cursor() as cursor:
        _create_stage(cursor, layout)
        chunk = next(chunks, None)
        while chunk is not None:
            # One COPY statement per ~PROGRESS_EVERY lines, then a progress update.
            statement_line, batch = lines, 0
            # Its own short transaction (a savepoint inside a caller's): progress is seen at once.
            try:
                with transaction.atomic(), cursor.copy(copy_sql) as copy:
                    while chunk is not None and batch < PROGRESS_EVERY:
                        copy.write(chunk)
                        newlines = chunk.count(b"\n")
                        batch += newlines
                        lines += newlines
                        upload_rows_check(rows=lines - 1)  # lines, not records: a bound all the same
                        chunk = next(chunks, None)
            except psycopg.Error as exc:
                raise _copy_file_error(exc, statement_line) from exc
            _progress(feed_import, lines - 1)  # lines, not records: close enough for progress
    return _count_rows()


def _csv_chunks(handle, pending: bytes, *, empty_row: bytes, newline: bytes):
    """Yield the rest of the file in blocks that end at a record boundary, checked as UTF-8."""
    lines_before = 1
    eof = False
    while not eof:
        block = handle.read(READ_BLOCK)
        if block:
            pending += block
            cut = _record_boundary(pending)
            if cut <= 0:
                # No record ends in the buffer: it must not grow without bound.
                upload_pending_check(pending=pending, lines_before=lines_before)
                continue
        else:
            eof, cut = True, len(pending)
        chunk, pending = pending[:cut], pending[cut:]
        if not chunk:
            continue
        upload_line_check(block=chunk, lines_before=lines_before)
        _check_utf8(chunk, line_before=lines_before)
        if not chunk.endswith(b"\n"):
            chunk += newline
        if b"\n\n" in chunk or b"\n\r\n" in chunk or chunk.startswith((b"\n", b"\r\n")):
            chunk = _BLANK_LINE.sub(empty_row, chunk)
        lines_before += chunk.count(b"\n")
        yield chunk


def _copy_file_error(error: Exception, statement_line: int) -> FeedFileError:
    """The server's CSV parser refused a line (a row with more or fewer fields than the header)."""
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(error).splitlines()[0]
    match = re.search(r"line (\d+)", getattr(diag, "context", None) or "")
    if match:
        line = statement_line + int(match.group(1))
        return FeedFileError(
            _("Line %(line)d of the file cannot be read (%(error)s). Every line needs as many fields as "
              "the header.") % {"line": line, "error": primary},
            extra={"line": line},
        )
    return FeedFileError(_("The file cannot be read as CSV (%(error)s).") % {"error": primary})


def _record_boundary(data: bytes) -> int:
    """Position just after the last newline that ends a CSV record (not inside quotes), or 0."""
    cut = data.rfind(b"\n")
    while cut >= 0:
        if data.count(b'"', 0, cut) % 2 == 0:
            return cut + 1
        cut = data.rfind(b"\n", 0, cut)
    return 0


def _count_rows() -> int:
    with connection.cursor() as cursor:
        # Temp tables are never analysed by autovacuum; without statistics the planner picks
        # nested loops over a million rows.
        cursor.execute("ANALYZE feed_stage")
        cursor.execute(f"SELECT count(*) FROM feed_stage WHERE NOT ({_blank_condition(cursor)})")  # noqa: S608
        rows = cursor.fetchone()[0]
    if not rows:
        raise FeedEmptyFile(_("The file has a header but no rows."))
    return rows


def _stock_column_count(cursor) -> int:
    cursor.execute("SELECT count(*) FROM feed_column")
    return cursor.fetchone()[0]


def _blank_condition(cursor) -> str:
    values = ["c_sku", "c_brand", "c_part_number", "c_price", "c_lead_time_days"]
    values += [f"w{i}" for i in range(_stock_column_count(cursor))]
    return "coalesce(" + " || ".join(f"btrim(coalesce({v}, ''))" for v in values) + ", '') = ''"


def _analyze(cursor, *tables: str) -> None:
    for table in tables:
        cursor.execute(f"ANALYZE {table}")


def _xlsx_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        # An integer is written as digits; a fraction with the decimal comma Indonesian Excel
        # shows, so that 189.123 is never staged as "189.123", which PRICE_RULE reads as 189123.
        return str(int(value)) if value.is_integer() else repr(value).replace(".", ",")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _stage_xlsx(feed_import: FeedImport, handle) -> int:
    # Imported here: openpyxl is heavy, and only the imports worker reading an XLSX feed needs it.
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    # openpyxl wants a seekable file; a spooled copy keeps memory bounded for any storage.
    with tempfile.TemporaryFile() as local:
        while block := handle.read(READ_BLOCK):
            local.write(block)
        local.seek(0)
        upload_zip_check(file=local)  # before openpyxl inflates anything
        try:
            workbook = load_workbook(local, read_only=True, data_only=True)
        except (InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise FeedFileError(_("The file is not a valid Excel (.xlsx) workbook.")) from exc
        except Exception as exc:  # zipfile.BadZipFile and friends
            raise FeedFileError(_("The file is not a valid Excel (.xlsx) workbook.")) from exc
        try:
            sheet = workbook.worksheets[0]
            max_columns, max_rows = settings.IMPORT_MAX_COLUMNS, settings.IMPORT_MAX_ROWS
            # read_only pads every row to the sheet's stated width (up to 16,384 columns):
            # one column past the limit is enough to tell a header that is too wide.
            rows_iter = sheet.iter_rows(values_only=True, max_col=max_columns + 1)
            header_row = next(rows_iter, None)
            if header_row is None or not any(v not in (None, "") for v in header_row):
                raise FeedEmptyFile(_("The file is empty."))
            header = [_xlsx_text(v) or "" for v in header_row]
            while header and not header[-1]:
                header.pop()  # trailing empty header cells
            upload_columns_check(columns=len(header))
            layout = _layout(header)
            ncols = len(header)
            columns = ", ".join(["row_no", *layout.targets])
            rows = 0
            with connection.cursor() as cursor:
                _create_stage(cursor, layout)
                done = False
                row_no = 1
                while not done:
                    with transaction.atomic(), cursor.copy(f"COPY feed_stage ({columns}) FROM STDIN") as copy:
                        batch = 0
                        for values in rows_iter:
                            row_no += 1
                            if row_no - 1 > max_rows:  # sheet rows, empty ones too: they cost time
                                upload_rows_check(rows=row_no - 1)
                            cells = [_xlsx_text(v) for v in values[:ncols]]
                            if not any(c not in (None, "") for c in cells):
                                continue
                            cells += [None] * (ncols - len(cells))
                            copy.write_row([row_no, *cells])
                            rows += 1
                            batch += 1
                            if batch >= PROGRESS_EVERY:
                                break
                        else:
                            done = True
                    _progress(feed_import, rows)
        finally:
            workbook.close()
    with connection.cursor() as cursor:
        _analyze(cursor, "feed_stage")
    if not rows:
        raise FeedEmptyFile(_("The file has a header but no rows."))
    return rows


# --- Validation (set-based) -------------------------------------------------------------------


def _validate(cursor, *, supplier_id: int) -> None:
    n_stock = _stock_column_count(cursor)
    cursor.execute(
        "UPDATE feed_column c SET warehouse_id = w.id FROM suppliers_warehouse w "
        "WHERE w.supplier_id = %s AND upper(w.code) = upper(c.code)",
        [supplier_id],
    )
    cursor.execute("DROP TABLE IF EXISTS pg_temp.feed_brand, pg_temp.feed_row, pg_temp.feed_cell, "
                   "pg_temp.feed_error")
    # A brand is named by its name or its slug, case-insensitive; names win over slugs.
    cursor.execute(
        "CREATE TEMP TABLE feed_brand AS SELECT DISTINCT ON (k) k AS brand_key, id AS brand_id FROM ("
        " SELECT lower(name) AS k, id, 0 AS o FROM catalog_brand"
        " UNION ALL SELECT lower(slug), id, 1 FROM catalog_brand) b ORDER BY k, o"
    )
    _analyze(cursor, "feed_brand")  # a few hundred rows: hashed, the million feed rows probe it
    # Only generated column names are interpolated (w0, w1, ...), never file content.
    feed_row_sql = f"""
        CREATE TEMP TABLE feed_row AS
        WITH s AS (
            SELECT row_no, nullif(btrim(c_sku), '') AS sku, nullif(btrim(c_brand), '') AS brand,
                   nullif(btrim(c_part_number), '') AS part_number, nullif(btrim(c_price), '') AS price_text,
                   nullif(btrim(c_lead_time_days), '') AS lead_text
            FROM feed_stage WHERE NOT ({_blank_condition(cursor)})
        ), n AS MATERIALIZED (
            -- The normalised number (catalog.normalise) is computed once per row here, stored
            -- in feed_row, and used as the hash key against catalog_part (brand_id, number_key).
            SELECT s.*, regexp_replace(upper(coalesce(s.part_number, '')), '[^A-Z0-9]+', '', 'g') AS number_key,
                   lower(s.brand) AS brand_key,
                   -- The price without "Rp"/"Rp." in front and ",00"/",-" behind (PRICE_RULE).
                   regexp_replace(regexp_replace(s.price_text, '^(-?)[\\s\\u00a0]*rp\\.?[\\s\\u00a0]*', '\\1', 'i'),
                                  ',(0{{1,2}}|-)$', '') AS price_bare
            FROM s
        )
        SELECT n.*,
               CASE WHEN n.price_bare ~ '{_PRICE_PATTERN}'
                    THEN replace(n.price_bare, '.', '')::bigint END AS price,
               CASE WHEN n.lead_text ~ '^[0-9]{{1,3}}$' THEN n.lead_text::int END AS lead_time,
               p.id AS part_id, NULL::bigint AS xref_parts
        FROM n
        LEFT JOIN feed_brand b ON b.brand_key = n.brand_key
        LEFT JOIN catalog_part p ON p.brand_id = b.brand_id AND p.number_key = n.number_key
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
    unpivot = ", ".join(f"({i}, w{i})" for i in range(n_stock))
    cursor.execute("CREATE TEMP TABLE feed_cell (row_no bigint, col int, value text)")
    if n_stock:
        cursor.execute(f"""
            INSERT INTO feed_cell
            SELECT s.row_no, v.col, btrim(v.value) FROM feed_stage s
            CROSS JOIN LATERAL (VALUES {unpivot}) v(col, value)
            WHERE btrim(coalesce(v.value, '')) <> ''
        """)  # noqa: S608
    _analyze(cursor, "feed_cell", "feed_column")
    cursor.execute("CREATE TEMP TABLE feed_error (row_no bigint, col text, value text, message text)")
    m = {
        "sku_required": _("A supplier SKU is required."),
        "sku_long": _("A SKU has at most %(max)d characters.") % {"max": SKU_MAX_LENGTH},
        "brand_required": _("A brand is required."),
        "number_required": _("A part number is required."),
        "number_bad": _("The part number has no letters or digits."),
        "number_long": _("A part number has at most 60 characters."),
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
                    WHEN length(r.part_number) > 60 THEN %(number_long)s
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
          -- Only rows with some problem go through the per-column unpivot (same conditions).
          AND (r.sku IS NULL OR length(r.sku) > %(sku_max)s OR r.brand IS NULL OR r.part_number IS NULL
               OR r.number_key = '' OR length(r.part_number) > 60 OR r.part_id IS NULL
               OR r.price IS NULL OR r.price < %(price_min)s
               OR (r.lead_text IS NOT NULL AND (r.lead_time IS NULL OR r.lead_time > %(max_lead)s
                                                OR r.lead_time < %(min_lead)s)))
        """,
        {**m, "sku_max": SKU_MAX_LENGTH, "price_min": PRICE_MIN, "min_lead": LEAD_TIME_MIN_DAYS,
         "max_lead": LEAD_TIME_MAX_DAYS},
    )
    cursor.execute(
        """
        INSERT INTO feed_error (row_no, col, value, message)
        WITH dup AS (  -- hash aggregate over all SKUs; only the duplicates are sorted
            SELECT sku FROM feed_row WHERE sku IS NOT NULL GROUP BY sku HAVING count(*) > 1
        ), r AS MATERIALIZED (
            SELECT r.row_no, r.sku FROM feed_row r JOIN dup USING (sku)
        )
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
        WHERE k.warehouse_id IS NULL OR c.value !~ '^[0-9]{1,10}$' OR c.value::bigint > %s
        """,
        [m["warehouse"], m["stock_negative"], m["stock_nan"], m["stock_large"], STOCK_MAX],
    )
    _analyze(cursor, "feed_error")


# --- Merge (one transaction) ---------------------------------------------------------------


def _merge(cursor, *, feed_import: FeedImport, phases: _Phases) -> dict[str, int]:
    supplier_id = feed_import.supplier_id
    reference = f"feed:{feed_import.pk}"
    actor_id = feed_import.created_by_id
    cursor.execute("DROP TABLE IF EXISTS pg_temp.feed_ok, pg_temp.feed_stock, pg_temp.feed_new_offer, "
                   "pg_temp.feed_offer_changed, pg_temp.feed_stock_changed")
    # Good rows with the stored offer of the same SKU, if any, and whether it looks changed
    # (values as of this statement; the writes below re-check under their row locks).
    cursor.execute(
        """
        CREATE TEMP TABLE feed_ok AS
        SELECT r.row_no, r.sku, r.part_id, r.price, r.lead_time, o.id AS offer_id,
               (o.id IS NOT NULL AND (o.part_id, o.price, o.lead_time_days) IS DISTINCT FROM
                                     (r.part_id, r.price, coalesce(r.lead_time, o.lead_time_days))) AS differs
        FROM feed_row r LEFT JOIN suppliers_offer o ON o.supplier_id = %s AND o.sku = r.sku
        WHERE NOT EXISTS (SELECT 1 FROM feed_error e WHERE e.row_no = r.row_no)
        """,
        [supplier_id],
    )
    # A first load (no offer of the file exists yet) has no stored stock to pair the cells
    # with: skip the join, which would hash the whole stock table for nothing.
    cursor.execute("SELECT EXISTS (SELECT 1 FROM feed_ok WHERE offer_id IS NOT NULL)")
    stored_stock = (
        "LEFT JOIN suppliers_stock s ON s.offer_id = k.offer_id AND s.warehouse_id = col.warehouse_id"
        if cursor.fetchone()[0] else
        "LEFT JOIN (SELECT NULL::bigint AS id, NULL::int AS on_hand) s ON false"
    )
    cursor.execute(
        f"""
        CREATE TEMP TABLE feed_stock AS
        SELECT c.row_no, k.offer_id, col.warehouse_id, c.value::int AS qty, s.id AS stock_id,
               s.on_hand AS seen_on_hand
        FROM feed_cell c JOIN feed_ok k USING (row_no) JOIN feed_column col USING (col)
        {stored_stock}
        """  # noqa: S608
    )
    _analyze(cursor, "feed_ok", "feed_stock")
    # What looks changed, in small tables of their own: the statements that lock, check and
    # write then visit only those rows (index lookups), not the supplier's whole catalogue.
    cursor.execute("DROP TABLE IF EXISTS pg_temp.feed_offer_diff, pg_temp.feed_stock_diff")
    cursor.execute("CREATE TEMP TABLE feed_offer_diff AS SELECT * FROM feed_ok WHERE differs")
    cursor.execute(
        "CREATE TEMP TABLE feed_stock_diff AS SELECT * FROM feed_stock "
        "WHERE stock_id IS NOT NULL AND qty <> seen_on_hand"
    )
    _analyze(cursor, "feed_offer_diff", "feed_stock_diff")
    phases.mark("merge: pair rows with stored offers/stock")
    # Lock what looks changed, offers before stock, each in pk order (suppliers.lock_objects'
    # rule), so an order reserving the same stock waits instead of deadlocking. Values are
    # read again after the lock by the statements below. The offers that only get a new stock
    # row are locked too: they must not go away before the commit.
    cursor.execute(
        """
        WITH locked AS (
            SELECT o.id FROM suppliers_offer o
            WHERE o.id IN (SELECT offer_id FROM feed_offer_diff
                           UNION SELECT offer_id FROM feed_stock WHERE stock_id IS NULL AND offer_id IS NOT NULL)
            ORDER BY o.id FOR UPDATE OF o
        ) SELECT count(*) FROM locked
        """
    )
    cursor.execute(
        """
        WITH locked AS (
            SELECT s.id FROM suppliers_stock s JOIN feed_stock_diff f ON f.stock_id = s.id
            ORDER BY s.id FOR UPDATE OF s
        ) SELECT count(*) FROM locked
        """
    )
    phases.mark("merge: lock changed rows")
    # On hand may not go below what orders have reserved: refuse the row. (A row whose
    # quantity equals the stored on_hand cannot be below reserved; the others are locked.)
    cursor.execute(
        """
        INSERT INTO feed_error (row_no, col, value, message)
        SELECT f.row_no, 'stock_' || k.code, f.qty::text,
               replace(replace(%s, '{qty}', f.qty::text), '{reserved}', s.reserved::text)
        FROM feed_stock_diff f JOIN suppliers_stock s ON s.id = f.stock_id JOIN feed_column k
          ON k.warehouse_id = f.warehouse_id
        WHERE f.qty < s.reserved
        """,
        [_("Stock {qty} is below the {reserved} already reserved by orders; the row was not applied.")],
    )
    if cursor.rowcount:
        cursor.execute("""
            CREATE TEMP TABLE feed_refused AS SELECT DISTINCT f.row_no FROM feed_stock_diff f
            JOIN feed_error e ON e.row_no = f.row_no
        """)
        for table in ("feed_ok", "feed_stock", "feed_offer_diff", "feed_stock_diff"):
            cursor.execute(f"DELETE FROM {table} t USING feed_refused e WHERE e.row_no = t.row_no")  # noqa: S608
        cursor.execute("DROP TABLE feed_refused")

    # New offers.
    cursor.execute("CREATE TEMP TABLE feed_new_offer (offer_id bigint, sku text)")
    cursor.execute(
        """
        WITH ins AS (
            INSERT INTO suppliers_offer (supplier_id, part_id, sku, price, min_order_qty, pack_size, lead_time_days,
                                   is_active, created_at, updated_at)
            SELECT %s, part_id, sku, price, 1, 1, coalesce(lead_time, 1), true, now(), now()
            FROM feed_ok WHERE offer_id IS NULL ORDER BY row_no
            RETURNING id, sku
        ) INSERT INTO feed_new_offer SELECT id, sku FROM ins
        """,
        [supplier_id],
    )
    new_offers = cursor.rowcount
    _analyze(cursor, "feed_new_offer")
    phases.mark("merge: insert offers")
    # Changed offers; `old` is read after the lock above, so previous_price is exact.
    cursor.execute(
        """
        CREATE TEMP TABLE feed_offer_changed AS
        WITH upd AS (
            UPDATE suppliers_offer o SET part_id = k.part_id, price = k.price,
                   lead_time_days = coalesce(k.lead_time, old.lead_time_days), updated_at = now()
            FROM feed_offer_diff k, suppliers_offer old
            WHERE k.offer_id = o.id AND old.id = o.id
              AND (old.part_id, old.price, old.lead_time_days) IS DISTINCT FROM
                  (k.part_id, k.price, coalesce(k.lead_time, old.lead_time_days))
            RETURNING o.id, o.sku, o.part_id, o.price, old.price AS previous_price, old.part_id AS previous_part_id
        ) SELECT * FROM upd
        """
    )
    updated_offers = cursor.rowcount
    cursor.execute(
        """
        INSERT INTO feed_offer_changed (id, sku, part_id, price, previous_price)
        SELECT n.offer_id, n.sku, k.part_id, k.price, NULL FROM feed_new_offer n JOIN feed_ok k ON k.sku = n.sku
        """
    )
    _analyze(cursor, "feed_offer_changed")
    phases.mark("merge: update offers")
    # Stock: existing rows that differ (values read after the lock), then new rows.
    cursor.execute(
        """
        CREATE TEMP TABLE feed_stock_changed AS
        WITH upd AS (
            UPDATE suppliers_stock s SET on_hand = f.qty, updated_at = now()
            FROM feed_stock_diff f, suppliers_stock old
            WHERE f.stock_id = s.id AND old.id = s.id AND old.on_hand <> f.qty
              AND old.reserved <= f.qty  -- re-checked at write time (the row is locked above)
            RETURNING s.id, s.offer_id, s.warehouse_id, f.qty - old.on_hand AS delta, s.on_hand, s.reserved
        ) SELECT * FROM upd
        """
    )
    cursor.execute(
        """
        WITH ins AS (
            INSERT INTO suppliers_stock (offer_id, warehouse_id, on_hand, reserved, updated_at)
            SELECT coalesce(f.offer_id, n.offer_id), f.warehouse_id, f.qty, 0, now()
            FROM feed_stock f JOIN feed_ok k ON k.row_no = f.row_no
            LEFT JOIN feed_new_offer n ON n.sku = k.sku
            WHERE f.stock_id IS NULL
            ORDER BY f.row_no, f.warehouse_id
            RETURNING id, offer_id, warehouse_id, on_hand, reserved
        ) INSERT INTO feed_stock_changed SELECT id, offer_id, warehouse_id, on_hand, on_hand, reserved
          FROM ins WHERE on_hand <> 0
        """
    )
    _analyze(cursor, "feed_stock_changed")
    phases.mark("merge: update/insert stock")
    cursor.execute(
        """
        INSERT INTO suppliers_stockmovement (stock_id, reason, on_hand_delta, reserved_delta, on_hand_after,
                                             reserved_after, reference, actor_id, created_at)
        SELECT id, 'import', delta, 0, on_hand, reserved, %s, %s, now() FROM feed_stock_changed ORDER BY id
        """,
        [reference, actor_id],
    )
    stock_changed = cursor.rowcount
    phases.mark("merge: ledger")
    # The parts whose best offer may have moved: new, repriced or re-pointed offers (both parts)
    # and offers whose stock changed.
    cursor.execute(
        """
        SELECT part_id FROM feed_offer_changed
        UNION SELECT previous_part_id FROM feed_offer_changed WHERE previous_part_id IS NOT NULL
        UNION SELECT o.part_id FROM suppliers_offer o WHERE o.id IN (SELECT offer_id FROM feed_stock_changed)
        """
    )
    part_best_offer_refresh(part_ids=[row[0] for row in cursor.fetchall()])
    phases.mark("merge: best offers")
    events = _write_events(feed_import=feed_import)
    phases.mark("merge: outbox events")
    return {"offers": new_offers + updated_offers, "stock": stock_changed, "events": events}


# Events are batched: one `offer.price_changed_batch` per EVENT_BATCH new or repriced offers,
# one `stock.changed_batch` per EVENT_BATCH changed stock rows. Each item is the payload
# suppliers.services writes for a single change, from the same builder (suppliers.events). One
# event per row cost more than the rest of the merge (two million outbox rows for a cold
# million-row feed), and the relay then had to publish each of them one by one.
EVENT_BATCH = 1000
# Batch events per INSERT into the outbox: bounds the memory a large feed's events take.
EVENT_WRITE_CHUNK = 20
_PRICE_ROWS = """
    SELECT id, part_id, sku, previous_price, price FROM feed_offer_changed
    WHERE previous_price IS DISTINCT FROM price ORDER BY id
"""
_STOCK_ROWS = "SELECT id, offer_id, warehouse_id, on_hand, reserved FROM feed_stock_changed ORDER BY id"


def _price_batch(*, feed_import: FeedImport, batch: int, rows: list[tuple]) -> dict:
    supplier_id = feed_import.supplier_id
    return offer_price_changed_batch_payload(
        feed_import_id=feed_import.pk, supplier_id=supplier_id, batch=batch,
        offers=[offer_price_changed_payload(offer_id=offer_id, supplier_id=supplier_id, part_id=part_id, sku=sku,
                                            old_price=old_price, price=price)
                for offer_id, part_id, sku, old_price, price in rows])


def _stock_batch(*, feed_import: FeedImport, batch: int, rows: list[tuple]) -> dict:
    return stock_changed_batch_payload(
        feed_import_id=feed_import.pk, supplier_id=feed_import.supplier_id, batch=batch,
        stocks=[stock_changed_payload(stock_id=stock_id, offer_id=offer_id, warehouse_id=warehouse_id,
                                      on_hand=on_hand, reserved=reserved)
                for stock_id, offer_id, warehouse_id, on_hand, reserved in rows])


_EVENT_KINDS = [("offer.price_changed_batch", _PRICE_ROWS, _price_batch),
                ("stock.changed_batch", _STOCK_ROWS, _stock_batch)]


def _write_events(*, feed_import: FeedImport) -> int:
    """Batched `offer.price_changed_batch` (new or repriced offers) and `stock.changed_batch`
    (stock rows whose on_hand changed) events in the merge's transaction, through the platform's
    outbox_events_write; none if nothing changed. The rows stream from a server-side cursor."""
    written = 0
    for topic, rows_sql, build in _EVENT_KINDS:
        pending: list[NewOutboxEvent] = []
        with connection.chunked_cursor() as rows:
            rows.execute(rows_sql)
            batch = 0
            while chunk := rows.fetchmany(EVENT_BATCH):
                batch += 1
                pending.append(NewOutboxEvent(topic=topic, aggregate_type="feed_import", aggregate_id=feed_import.pk,
                                              payload=build(feed_import=feed_import, batch=batch, rows=chunk)))
                if len(pending) == EVENT_WRITE_CHUNK:
                    written += len(outbox_events_write(events=pending))
                    pending = []
        written += len(outbox_events_write(events=pending))
    return written


def _save_report(cursor, feed_import: FeedImport) -> None:
    """Write the error report (CSV: row, column, value, message) from the database, streaming."""
    with tempfile.TemporaryFile() as out:
        out.write(codecs.BOM_UTF8)  # Excel then reads it as UTF-8
        out.write((",".join(REPORT_HEADER) + "\r\n").encode())
        with cursor.copy(
            "COPY (SELECT row_no, col, value, message FROM feed_error ORDER BY row_no, col) "
            "TO STDOUT (FORMAT csv)"
        ) as copy:
            for data in copy:
                out.write(data)
        out.seek(0)
        feed_import.errors_report.save(f"feed-{feed_import.pk}-errors.csv", File(out), save=False)
