"""A feed upload: checked before anything is stored, stored as a pending import, its run enqueued."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files.base import File
from django.db import transaction
from django.utils.translation import gettext as _

from okto88.celery import task_send
from okto88.errors import UploadRefused
from okto88.tabular import table_is_xlsx
from okto88.uploads import upload_zip_check
from suppliers.errors import FeedFileUnsupported, FeedUploadTooLarge
from suppliers.models import FeedImport, Supplier

ALLOWED_EXTENSIONS = (".csv", ".txt", ".xlsx")
# The media types a feed may be sent as (a multipart part's Content-Type); a file named
# otherwise is still read when its part says it is one of these (the worker sniffs which).
FEED_MEDIA_TYPES = ("text/csv", "text/plain", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
MAX_UPLOAD_BYTES = 512 * 1024 * 1024


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
    if table_is_xlsx(file=file, name=name):
        try:
            upload_zip_check(file=file)
        except UploadRefused as exc:
            raise FeedUploadTooLarge(exc.message, extra=exc.extra) from exc
    return name


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
