"""No key, secret, password or signature appears in any log line (docs/security.md, "Transport and
exposure"): every record of the root logger at DEBUG, formatted as production formats it (the json
formatter with its extra fields and exception text, and the plain one), while the flows that carry
secrets run: API keys good and bad, a webhook endpoint and a signed delivery, the gateway's and the
courier's signed notifications, logins with right and wrong passwords, a password reset."""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.module_loading import import_string
from pythonjsonlogger.json import JsonFormatter
from rest_framework.test import APIClient

from logistics.fake_courier import sign as courier_sign
from okto88.models import Scope
from okto88.tasks import email_send_task
from partners.models import AttemptOutcome, WebhookEndpoint
from partners.services import deliveries
from payments import services as payments
from payments.fake_gateway import notification_body
from tests.partners.deliveries_support import webhook_settings_apply
from tests.partners.test_api_endpoints import supplier_partner
from tests.partners.test_deliveries import delivery_for
from tests.platform.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret-Passw0rd"  # tests.platform.factories.UserFactory's
# factory_boy logs the arguments of its calls (the test user's password) at DEBUG: tests only.
TEST_TOOLING_LOGGERS = {"factory"}


class CollectingHandler(logging.Handler):
    """Every record, formatted by each formatter production may use (settings.LOGGING)."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        json_config = {k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
        self.formatters = [JsonFormatter(**json_config),
                           logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])]
        # The console handler's filters, as configured.
        for name in settings.LOGGING["handlers"]["console"]["filters"]:
            self.addFilter(import_string(settings.LOGGING["filters"][name]["()"])())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in TEST_TOOLING_LOGGERS:
            return
        for formatter in self.formatters:
            self.lines.append(formatter.format(record))


@pytest.fixture
def log_lines():
    handler = CollectingHandler()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def leaks(lines: list[str], secrets: dict[str, str]) -> list[str]:
    return [f"{name} in: {line[:300]}" for line in lines for name, value in secrets.items() if value in line]


def test_the_collector_sees_extra_fields_and_exception_text(log_lines):
    logger = logging.getLogger("okto88.test")
    try:
        raise ValueError("boom-in-exception")
    except ValueError:
        logger.exception("failed", extra={"field": "in-extra-field"})
    logger.debug("debug-line")
    text = "\n".join(log_lines)
    assert "boom-in-exception" in text and "in-extra-field" in text and "debug-line" in text


def test_no_secret_reaches_a_log_line(log_lines, settings, fake_receiver, fake_gateway, fake_courier):
    secrets: dict[str, str] = {}

    # --- API keys: a good one, a wrong one, and one a partner put in the query string by mistake
    partner = supplier_partner(Scope.ORDERS_READ)
    secrets["api key"] = partner.raw_key
    secrets["api key secret part"] = partner.raw_key.rsplit("_", 1)[-1]
    wrong = partner.raw_key[:-4] + "AAAA"
    secrets["wrong api key"] = wrong.rsplit("_", 1)[-1]
    api = APIClient()
    assert api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {partner.raw_key}").status_code == 200
    assert api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {wrong}").status_code == 401
    assert api.get(f"/api/v1/me/?api_key={partner.raw_key}").status_code == 401
    assert api.get(f"/api/v1/no-such-thing/?key={partner.raw_key}").status_code == 404
    assert Client().get(f"/no-such-page/?token={partner.raw_key}").status_code == 404

    # --- A webhook endpoint made through the API, and a signed delivery to the fake receiver
    webhook_settings_apply(settings)
    name = uuid.uuid4().hex[:10]
    created = APIClient()
    created.credentials(HTTP_AUTHORIZATION=f"Api-Key {partner.raw_key}")
    response = created.post("/api/v1/webhooks/endpoints/", {"url": fake_receiver.endpoint_url(name),
                                                            "event_types": ["offer.price_changed"]}, format="json")
    assert response.status_code == 201, response.content
    secret = response.json()["secret"]
    secrets["webhook secret"] = secret
    secrets["webhook secret key"] = secret.removeprefix("whsec_")
    fake_receiver.configure(name, secrets=[secret])
    endpoint = WebhookEndpoint.objects.get(pk=response.json()["id"])
    assert deliveries.webhook_deliver(delivery_id=delivery_for(endpoint).pk) == AttemptOutcome.OK
    (received,) = fake_receiver.received(name)
    for n, signature in enumerate(received["signature"].split()):
        secrets[f"webhook signature {n}"] = signature.split(",", 1)[1]
    rotated = created.post(f"/api/v1/webhooks/endpoints/{endpoint.pk}/rotate-secret/", {}, format="json")
    assert rotated.status_code == 200, rotated.content
    secrets["rotated webhook secret"] = rotated.json()["secret"]

    # --- The payment gateway: our server key on the way out, its signed notification on the way in
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    settings.PAYMENT_NOTIFICATION_URL = f"{fake_gateway.url}/_sink"
    server_key = settings.PAYMENT_GATEWAY_SERVER_KEY
    secrets["gateway server key"] = server_key
    secrets["gateway basic auth"] = base64.b64encode(f"{server_key}:".encode()).decode()
    reference = f"OK-T-{uuid.uuid4().hex[:12].upper()}"
    payments.payment_intent_create(reference=reference, amount=89_000, method="virtual_account",
                                   customer={"first_name": "Bengkel"},
                                   expires_at=timezone.now() + timedelta(minutes=30))
    body = notification_body(order_id=reference, transaction_status="pending", gross_amount=89_000,
                             server_key=server_key)
    secrets["gateway signature"] = json.loads(body)["signature_key"]
    notifications = APIClient()
    assert notifications.post("/api/v1/payments/notifications/", data=body,
                              content_type="application/json").status_code == 200
    forged = notification_body(order_id=reference, transaction_status="settlement", gross_amount=89_000,
                               server_key=server_key, signature_key="f" * 128)
    secrets["forged gateway signature"] = "f" * 128
    assert notifications.post("/api/v1/payments/notifications/", data=forged,
                              content_type="application/json").status_code == 403

    # --- The courier: its signed callback (for a waybill we do not know) and a forged one
    secrets["courier webhook secret"] = settings.COURIER_WEBHOOK_SECRET
    secrets["courier api key"] = settings.COURIER_API_KEY
    callback = json.dumps({"event_id": f"evt_{uuid.uuid4().hex}", "waybill": "NOPE123", "reference": "x",
                           "status": "picked_up", "occurred_at": "2026-11-25T08:15:00+00:00"}).encode()
    courier_signature = courier_sign(settings.COURIER_WEBHOOK_SECRET, callback)
    secrets["courier signature"] = courier_signature
    notifications.post("/api/v1/logistics/notifications/", data=callback, content_type="application/json",
                       HTTP_X_COURIER_SIGNATURE=courier_signature)
    notifications.post("/api/v1/logistics/notifications/", data=callback, content_type="application/json",
                       HTTP_X_COURIER_SIGNATURE="0" * 64)

    # --- Logins: right and wrong passwords, in the site and in the admin
    user = UserFactory(email="bengkel@example.co.id")
    secrets["password"] = PASSWORD
    secrets["wrong password"] = "Wr0ng-but-cl0se-Passw0rd"
    browser = Client()
    assert browser.post("/accounts/login/", {"username": user.email, "password": "Wr0ng-but-cl0se-Passw0rd"}
                        ).status_code == 200
    assert browser.post("/accounts/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    Client().post("/admin/login/?next=/admin/", {"username": user.email, "password": PASSWORD})

    # --- A password reset: the link's token, the new password, the mail sent in this process
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    reset = Client()
    assert reset.post("/accounts/password_reset/", {"email": user.email}).status_code == 302
    (message,) = mail.outbox
    link = re.search(r"/accounts/reset/(?P<uid>[^/]+)/(?P<token>[^/]+)/", message.body)
    secrets["reset token"] = link["token"]
    confirm = reset.get(link.group(0), follow=True)
    assert confirm.status_code == 200
    new_password = "N3w-secret-Passw0rd-42"
    secrets["new password"] = new_password
    assert reset.post(confirm.redirect_chain[-1][0], {"new_password1": new_password,
                                                      "new_password2": new_password}).status_code == 302
    # The same mail through the Celery task, in this process (console backend: not a log line).
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    email_send_task(subject=message.subject, body=message.body, from_email=message.from_email, to=message.to)

    assert len(log_lines) > 20  # the flows above did log (access lines at least)
    found = leaks(log_lines, secrets)
    assert not found, "\n".join(found)
