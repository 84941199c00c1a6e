"""POST /api/v1/payments/notifications/: in-process and end to end (fake gateway → live_server)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from payments import services
from payments.fake_gateway import notification_body
from payments.models import PaymentEvent, PaymentIntent, PaymentMethod, PaymentStatus
from tests.payments.conftest import wait_for

URL = "/api/v1/payments/notifications/"
PROBLEM = "application/problem+json"


def create(reference: str, method: str = PaymentMethod.VIRTUAL_ACCOUNT) -> PaymentIntent:
    return services.payment_intent_create(reference=reference, amount=89_000, method=method,
                                          customer={"first_name": "Bengkel"},
                                          expires_at=timezone.now() + timedelta(minutes=30))


def post(body: bytes):
    return APIClient().post(URL, data=body, content_type="application/json")


def signed(reference: str, status: str, *, transaction_id: str = "trx-api", **kw) -> bytes:
    return notification_body(order_id=reference, transaction_status=status, gross_amount=89_000,
                             server_key=settings.PAYMENT_GATEWAY_SERVER_KEY, transaction_id=transaction_id, **kw)


def gateway_transaction_id(gateway, reference: str) -> str:
    return gateway.state()["transactions"][reference]["transaction_id"]


@pytest.mark.django_db
def test_a_valid_notification_is_applied_once_then_reported_as_duplicate(reference, fake_gateway):
    intent = create(reference)
    fake_gateway.simulate(reference, "settlement")  # the status request confirms it
    body = signed(reference, "settlement", transaction_id=gateway_transaction_id(fake_gateway, reference))
    first = post(body)
    assert first.status_code == 200 and first.json() == {"status": "ok"}
    assert post(body).json() == {"status": "duplicate"}
    assert post(signed(reference, "pending")).json() == {"status": "ignored"}
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.SETTLED


@pytest.mark.django_db
def test_a_forged_notification_gets_403_problem_and_is_recorded(reference):
    create(reference)
    response = post(signed(reference, "settlement", signature_key="a" * 128))
    assert response.status_code == 403 and response["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == "invalid_signature"
    assert PaymentEvent.objects.get(reference=reference).signature_valid is False
    assert PaymentIntent.objects.get(reference=reference).status == PaymentStatus.PENDING


@pytest.mark.django_db
def test_the_signature_is_checked_against_the_body_as_sent(reference):
    create(reference)
    body = json.loads(signed(reference, "settlement"))
    body["gross_amount"] = "1.00"  # the signed fields changed in transit
    assert post(json.dumps(body).encode()).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"order_id": "A"}', b""])
def test_an_unreadable_body_gets_400_problem(body):
    response = post(body)
    assert response.status_code == 400 and response["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == "invalid_notification"


@pytest.mark.django_db
def test_the_endpoint_needs_no_api_key_and_is_documented():
    schema = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    import yaml

    doc = schema.json() if schema["Content-Type"].startswith("application/vnd.oai.openapi+json") else \
        yaml.safe_load(schema.content)
    operation = doc["paths"][URL]["post"]
    assert {"200", "400", "403"} <= set(operation["responses"])
    assert "401" not in operation["responses"]


@pytest.mark.django_db(transaction=True)
def test_end_to_end_the_gateway_notifies_the_live_server(reference, fake_gateway, live_server, settings):
    """Charge → the fake posts its pending notification to us; "pay now" → settlement arrives."""
    settings.PAYMENT_NOTIFICATION_URL = f"{live_server.url}{URL}"
    fake_gateway.set_faults(duplicate_notifications=2)
    intent = create(reference)
    paid = requests.post(f"{fake_gateway.url}/pay/{reference}", timeout=5)  # the workshop pays
    assert "Payment successful" in paid.text

    wait_for(lambda: PaymentIntent.objects.get(pk=intent.pk).status == PaymentStatus.SETTLED,
             what="the settlement notification to be applied")
    fake_gateway.wait_idle()
    events = list(PaymentEvent.objects.filter(reference=reference).order_by("received_at"))
    pending = [e for e in events if e.transaction_status == "pending"]
    settlement = [e for e in events if e.transaction_status == "settlement"]
    assert all(e.signature_valid for e in events) and len(pending) + len(settlement) == len(events)
    # The charge's pending notification (sent three times) may reach us before the intent's
    # transaction commits; such a copy is kept as unmatched, one row per delivery, and changes
    # nothing. Once the intent is visible the copies are one row. The settlement applies once.
    assert 1 <= len(pending) <= 3 and not any(e.applied for e in pending)
    assert [e.applied for e in settlement] == [True]
    delivered = fake_gateway.notifications(reference)
    assert len(delivered) == 4 and {n["status"] for n in delivered} == {200}


@pytest.mark.django_db
def test_a_relabelled_notification_gets_400_problem_and_changes_nothing(reference, fake_gateway):
    """A genuine pending notification from the gateway, relabelled settlement with a new id."""
    intent = create(reference)
    fake_gateway.wait_idle()
    pending = json.loads(fake_gateway.state()["sink"][-1]["body"])
    assert pending["order_id"] == reference and pending["transaction_status"] == "pending"
    forged = {**pending, "transaction_status": "settlement", "transaction_id": "c0ffee00-forged"}

    response = post(json.dumps(forged).encode())

    assert response.status_code == 400 and response["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == "notification_status_mismatch" and response.json()["status"] == 400
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.PENDING
    assert PaymentEvent.objects.get(reference=reference, transaction_status="settlement").applied is False


@pytest.mark.django_db
def test_a_notification_the_gateway_does_not_confirm_answers_refused(reference, fake_gateway):
    intent = create(reference)
    body = signed(reference, "settlement", transaction_id=gateway_transaction_id(fake_gateway, reference))
    assert post(body).json() == {"status": "refused"}  # the gateway still says pending
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.PENDING


@pytest.mark.django_db
def test_a_notification_that_cannot_be_confirmed_gets_503_so_the_gateway_retries(reference, fake_gateway):
    intent = create(reference)
    fake_gateway.simulate(reference, "settlement")
    body = signed(reference, "settlement", transaction_id=gateway_transaction_id(fake_gateway, reference))
    fake_gateway.set_faults(fail_next=1)
    response = post(body)
    assert response.status_code == 503 and response["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == "notification_unconfirmed"
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.PENDING
    assert post(body).json() == {"status": "ok"}


# --- bounds: body size, source throttle, what an unverified notification leaves behind --------

@pytest.mark.django_db
def test_a_body_above_the_cap_is_413_before_anything_is_stored(reference, settings):
    create(reference)
    body = signed(reference, "settlement", padding="x" * settings.NOTIFICATION_MAX_BODY_BYTES)

    response = post(body)

    assert response.status_code == 413 and response["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == "payload_too_large"
    assert not PaymentEvent.objects.exists()
    # The limit is written as the reader writes numbers: 65.536 in Indonesian (the default).
    assert "65.536" in response.json()["detail"]


@pytest.mark.django_db
def test_a_body_just_under_the_cap_is_read(reference, settings):
    body = b"x" * settings.NOTIFICATION_MAX_BODY_BYTES
    assert post(body).status_code == 400  # read whole, then refused as unreadable


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["forged", "unreadable"])
def test_an_unverified_notification_is_kept_only_as_a_short_excerpt(reference, settings, kind):
    create(reference)
    body = (signed(reference, "settlement", signature_key="a" * 128, padding="x" * 50_000) if kind == "forged"
            else b"not json " + b"x" * 50_000)

    assert post(body).status_code == (403 if kind == "forged" else 400)

    event = PaymentEvent.objects.get()
    assert len(event.raw_body) <= settings.NOTIFICATION_UNVERIFIED_EXCERPT_CHARS
    assert event.raw_body == body.decode()[:len(event.raw_body)]
    assert event.payload is None


@pytest.mark.django_db
def test_notifications_are_throttled_by_source_address(settings):
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "notification": "3/hour"}
    settings.REST_FRAMEWORK = rest
    flooder = APIClient(REMOTE_ADDR="203.0.113.41")
    statuses = [flooder.post(URL, data=b"{}", content_type="application/json").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    throttled = flooder.post(URL, data=b"{}", content_type="application/json")
    assert throttled["Content-Type"].startswith(PROBLEM) and int(throttled["Retry-After"]) >= 1
    assert throttled.json()["code"] == "throttled"
    gateway = APIClient(REMOTE_ADDR="198.51.100.41")
    assert gateway.post(URL, data=b"{}", content_type="application/json").status_code == 400  # not 429


@pytest.mark.django_db
def test_a_body_longer_than_its_content_length_claims_is_stopped_while_reading(settings):
    from rest_framework.test import APIRequestFactory

    from payments.api import PaymentNotificationApi

    request = APIRequestFactory().post(URL, data=b"x" * (settings.NOTIFICATION_MAX_BODY_BYTES + 10),
                                       content_type="application/json")
    request.META["CONTENT_LENGTH"] = "100"  # the header lies; the stream holds more
    response = PaymentNotificationApi.as_view()(request).render()
    assert response.status_code == 413 and response.data["code"] == "payload_too_large"
    assert not PaymentEvent.objects.exists()
