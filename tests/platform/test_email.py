"""The Celery email backend: mail leaves after the transaction commits, through a real worker."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMessage, get_connection
from django.db import transaction

from tests.celery_worker import CeleryWorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_worker(django_db_setup, tmp_path):
    """A worker of this test's own: its "email sent" lines must not be read by another test's
    search of the session worker's log."""
    worker = CeleryWorkerProcess(log_dir=tmp_path, concurrency=1)
    worker.start()
    try:
        with worker.routed():
            yield worker
    finally:
        worker.stop()


def test_messages_sent_together_leave_as_one_task_after_commit(own_worker, settings):
    settings.EMAIL_BACKEND = "okto88.email.CeleryEmailBackend"  # pytest-django swaps in locmem
    messages = [EmailMessage(f"Pesanan {n}", "Isi", None, [f"bengkel{n}@example.co.id"]) for n in range(3)]

    with transaction.atomic():
        assert get_connection().send_messages(messages) == 3

    sent = [own_worker.wait_for_log(lambda r, n=n: r.get("message") == "email sent"
                                    and r.get("subject") == f"Pesanan {n}") for n in range(3)]
    request_ids = {line["request_id"] for line in sent}
    assert len(request_ids) == 1, "one task sent all three"
    task_id = request_ids.pop().removeprefix("task-")
    done = own_worker.wait_for_log(lambda r: (r.get("data") or {}).get("id") == task_id
                                   and "succeeded" in r.get("message", ""))
    assert done["data"]["name"] == "platform.email_send_batch"
