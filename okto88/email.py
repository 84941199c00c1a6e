"""An email backend that hands messages to Celery after the transaction commits: one task per
message, or one task for all the messages of one send_messages call (a workflow step that
mails a workshop and its suppliers costs the workers one task, not one per recipient)."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction

from okto88.celery import task_send

# okto88.tasks declares them; by name, so the backend never imports the tasks module.
EMAIL_SEND_TASK = "platform.email_send"
EMAIL_SEND_BATCH_TASK = "platform.email_send_batch"


def _message_kwargs(message) -> dict:
    return {
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "alternatives": [[str(c), m] for c, m in getattr(message, "alternatives", [])],
        "headers": {k: str(v) for k, v in message.extra_headers.items()},
    }


class CeleryEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        messages = [_message_kwargs(message) for message in email_messages]
        if len(messages) == 1:
            transaction.on_commit(lambda: task_send(EMAIL_SEND_TASK, kwargs=messages[0]))
        elif messages:
            transaction.on_commit(lambda: task_send(EMAIL_SEND_BATCH_TASK, kwargs={"messages": messages}))
        return len(messages)
