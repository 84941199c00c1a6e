"""An email backend that hands each message to a Celery task after the transaction commits."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction


class CeleryEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        from okto88.tasks import email_send_task

        for message in email_messages:
            kwargs = {
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
            transaction.on_commit(lambda kwargs=kwargs: email_send_task.delay(**kwargs))
        return len(email_messages)
