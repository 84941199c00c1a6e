"""payments.services with the fake gateway over real HTTP: intents, notifications, endings."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from okto88.models import OutboxEvent
from payments import services
from payments.errors import (
    GatewayRejected,
    GatewayUnavailable,
    InvalidNotification,
    InvalidSignature,
    NotificationStatusMismatch,
    NotificationUnconfirmed,
    PaymentReferenceConflict,
)
from payments.fake_gateway import notification_body
from payments.models import PaymentEvent, PaymentIntent, PaymentMethod, PaymentStatus, Refund, RefundStatus
from tests.payments.conftest import sent_notifications, statuses_of, wait_for

pytestmark = pytest.mark.django_db

CUSTOMER = {"first_name": "Bengkel Maju Jaya", "email": "kasir@majujaya.co.id", "phone": "+6281234567890"}


def create(reference: str, method: str = PaymentMethod.VIRTUAL_ACCOUNT, amount: int = 275_000) -> PaymentIntent:
    return services.payment_intent_create(reference=reference, amount=amount, method=method, customer=CUSTOMER,
                                          expires_at=timezone.now() + timedelta(minutes=60))


def topics(intent: PaymentIntent) -> list[str]:
    return list(OutboxEvent.objects.filter(aggregate_type="payment", aggregate_id=str(intent.pk))
                .order_by("id").values_list("topic", flat=True))


def signed(reference: str, status: str, *, amount: int = 275_000, transaction_id: str = "trx-1", **kw) -> bytes:
    return notification_body(order_id=reference, transaction_status=status, gross_amount=amount,
                             server_key=settings.PAYMENT_GATEWAY_SERVER_KEY, transaction_id=transaction_id, **kw)


def settle(gateway, reference: str) -> None:
    """The workshop pays at the gateway and its settlement notification reaches us."""
    gateway.simulate(reference, "settlement")
    bodies = sent_notifications(gateway, reference, count=2)
    services.payment_notification_receive(raw_body=bodies[-1])


# --- Creating ----------------------------------------------------------------------------

def test_a_virtual_account_payment_gets_its_number_and_waits(reference):
    intent = create(reference)
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.PENDING and intent.bank == "bca" and intent.va_number
    assert intent.gateway_transaction_id and intent.expires_at
    assert topics(intent) == []


@pytest.mark.parametrize("method", [PaymentMethod.QRIS, PaymentMethod.EWALLET])
def test_qris_and_ewallet_payments_get_a_qr_string_and_link(reference, method):
    intent = create(reference, method)
    assert intent.status == PaymentStatus.PENDING and intent.qr_string and intent.payment_url
    assert intent.va_number == ""


def test_terms_settle_at_once_with_an_outbox_event(reference, fake_gateway):
    intent = create(reference, PaymentMethod.TERMS)
    assert intent.status == PaymentStatus.SETTLED and intent.settled_at
    assert topics(intent) == ["payment.settled"]
    event = OutboxEvent.objects.get(topic="payment.settled", aggregate_id=str(intent.pk))
    assert event.payload == {"reference": reference, "intent_id": intent.pk, "amount": 275_000,
                             "status": "settled", "method": "terms"}
    assert reference not in fake_gateway.state()["transactions"]  # no gateway call


def test_creating_again_returns_the_same_payment(reference, fake_gateway):
    first = create(reference)
    fake_gateway.set_faults(fail_next=1)  # a second charge at the gateway would fail the call
    again = create(reference)
    assert again.pk == first.pk and again.va_number == first.va_number
    # Answered from the stored intent without charging again. (One intent per reference is the
    # unique constraint's to keep: counting them could never fail.)
    assert fake_gateway.state()["faults"]["fail_next"] == 1


def test_the_same_reference_with_another_amount_is_a_conflict(reference):
    create(reference)
    with pytest.raises(PaymentReferenceConflict):
        create(reference, amount=1)


@pytest.mark.parametrize("amount", [True, False, 1.5, "275000", None, 0, -1])
def test_an_amount_that_is_not_a_positive_whole_rupiah_is_refused(reference, fake_gateway, amount):
    with pytest.raises(ValueError, match="amount"):
        create(reference, amount=amount)
    assert not PaymentIntent.objects.filter(reference=reference).exists()
    assert reference not in fake_gateway.state()["transactions"]


def test_a_gateway_that_is_down_leaves_no_payment_behind(reference, fake_gateway):
    fake_gateway.set_faults(fail_next=1)
    with pytest.raises(GatewayUnavailable):
        create(reference)
    assert not PaymentIntent.objects.filter(reference=reference).exists()
    assert create(reference).va_number  # the retry works


def test_a_timed_out_charge_retried_gets_the_same_account(reference, fake_gateway, settings):
    settings.PARTNER_HTTP_TIMEOUT_SECONDS = 0.5
    fake_gateway.set_faults(timeout_next=1, timeout_ms=900)
    with pytest.raises(GatewayUnavailable):
        create(reference)
    wait_for(lambda: reference in fake_gateway.state()["transactions"], what="the slow charge to land")
    intent = create(reference)
    assert intent.va_number == fake_gateway.state()["transactions"][reference]["va_number"]


def test_a_rejected_charge_is_permanent(reference, fake_gateway):
    fake_gateway.set_faults(reject_next=1)
    with pytest.raises(GatewayRejected):
        create(reference)
    assert not PaymentIntent.objects.filter(reference=reference).exists()


# --- Notifications -----------------------------------------------------------------------

def test_a_settlement_notification_settles_the_payment_once(reference, fake_gateway):
    intent = create(reference)
    fake_gateway.set_faults(duplicate_notifications=3)
    fake_gateway.simulate(reference, "settlement")
    bodies = sent_notifications(fake_gateway, reference, count=4)  # pending, then settlement ×3
    settlement = [b for b in bodies if json.loads(b)["transaction_status"] == "settlement"]
    assert len(settlement) == 3 and len(set(settlement)) == 1

    events = [services.payment_notification_receive(raw_body=body) for body in settlement]

    intent.refresh_from_db()
    assert intent.status == PaymentStatus.SETTLED and intent.settled_at
    assert topics(intent) == ["payment.settled"]
    assert [e.is_duplicate for e in events] == [False, True, True]
    assert len({e.pk for e in events}) == 1 and events[0].applied and events[0].signature_valid
    # The duplicates left the stored row as the first delivery wrote it. (One row per transaction
    # and status is the unique dedupe key's to keep: counting rows could not fail.)
    stored = PaymentEvent.objects.get(reference=reference, transaction_status="settlement")
    assert (stored.applied, stored.outcome) == (True, PaymentStatus.SETTLED)


def test_a_forged_notification_is_refused_and_recorded(reference):
    intent = create(reference)
    forged = signed(reference, "settlement", signature_key="0" * 128)
    with pytest.raises(InvalidSignature) as caught:
        services.payment_notification_receive(raw_body=forged)
    assert caught.value.code == "invalid_signature" and caught.value.status == 403
    event = PaymentEvent.objects.get(reference=reference)
    assert event.signature_valid is False and event.applied is False and event.raw_body == forged.decode()
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.PENDING and topics(intent) == []


def test_a_forged_notification_cannot_block_the_genuine_one(reference, fake_gateway):
    intent = create(reference)
    fake_gateway.simulate(reference, "settlement")
    transaction_id = fake_gateway.state()["transactions"][reference]["transaction_id"]
    genuine = signed(reference, "settlement", transaction_id=transaction_id)
    forged = signed(reference, "settlement", transaction_id=transaction_id, signature_key="f" * 128)
    with pytest.raises(InvalidSignature):
        services.payment_notification_receive(raw_body=forged)
    assert services.payment_notification_receive(raw_body=genuine).applied
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.SETTLED


def test_a_wrong_amount_with_a_valid_signature_changes_nothing(reference):
    intent = create(reference)
    event = services.payment_notification_receive(raw_body=signed(reference, "settlement", amount=1_000))
    assert event.signature_valid and not event.applied and "amount" in event.outcome
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.PENDING


def test_settlement_then_a_late_pending_stays_settled(reference, fake_gateway):
    fake_gateway.set_faults(out_of_order=True)  # the charge's pending is sent after the settlement
    intent = create(reference)
    fake_gateway.simulate(reference, "settlement")
    bodies = sent_notifications(fake_gateway, reference, count=2)
    assert statuses_of(bodies) == ["settlement", "pending"]

    events = [services.payment_notification_receive(raw_body=body) for body in bodies]

    intent.refresh_from_db()
    assert intent.status == PaymentStatus.SETTLED
    assert [e.applied for e in events] == [True, False]
    assert "settled" in events[1].outcome and events[1].signature_valid
    assert topics(intent) == ["payment.settled"]


def test_an_unreadable_notification_is_refused_and_recorded():
    with pytest.raises(InvalidNotification):
        services.payment_notification_receive(raw_body=b"\xff not json")
    with pytest.raises(InvalidNotification):
        services.payment_notification_receive(raw_body=b'{"order_id": "x"}')
    assert PaymentEvent.objects.filter(signature_valid=False, intent=None).count() == 2


def test_a_notification_for_an_unknown_payment_is_recorded_and_ignored(reference, fake_gateway):
    event = services.payment_notification_receive(raw_body=signed(reference, "settlement"))
    assert event.signature_valid and not event.applied and event.intent is None
    # A redelivery after the payment exists is still taken in (the first did not take the key).
    intent = create(reference)
    fake_gateway.simulate(reference, "settlement")
    transaction_id = fake_gateway.state()["transactions"][reference]["transaction_id"]
    again = services.payment_notification_receive(raw_body=signed(reference, "settlement",
                                                                  transaction_id=transaction_id))
    assert again.applied and not again.is_duplicate
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.SETTLED


# --- Ending ------------------------------------------------------------------------------

def test_cancelling_a_pending_payment_cancels_it_at_the_gateway(reference, fake_gateway):
    intent = create(reference)
    intent = services.payment_cancel_or_refund(intent=intent, reason="workshop cancelled")
    assert intent.status == PaymentStatus.CANCELLED
    assert fake_gateway.state()["transactions"][reference]["status"] == "cancel"
    again = services.payment_cancel_or_refund(intent=intent, reason="workshop cancelled")
    assert again.status == PaymentStatus.CANCELLED and topics(intent) == ["payment.cancelled"]
    # The gateway's own cancel notification arrives later and changes nothing.
    cancel = [b for b in sent_notifications(fake_gateway, reference, count=2) if b"cancel" in b]
    assert not services.payment_notification_receive(raw_body=cancel[0]).applied


def test_a_settled_payment_is_refunded_through_the_gateway_once(reference, fake_gateway):
    intent = create(reference)
    settle(fake_gateway, reference)
    intent = services.payment_cancel_or_refund(intent=intent, reason="courier failed")
    assert intent.status == PaymentStatus.REFUNDED
    refund = Refund.objects.get(intent=intent)
    assert refund.status == RefundStatus.SUCCEEDED and refund.amount == 275_000
    assert services.payment_cancel_or_refund(intent=intent, reason="again").status == PaymentStatus.REFUNDED
    assert Refund.objects.filter(intent=intent).count() == 1
    assert len(fake_gateway.state()["transactions"][reference]["refunds"]) == 1
    assert topics(intent) == ["payment.settled", "payment.refunded"]


def test_a_refund_while_the_gateway_is_down_changes_nothing_and_can_be_retried(reference, fake_gateway):
    intent = create(reference)
    settle(fake_gateway, reference)
    fake_gateway.set_faults(fail_next=1)
    with pytest.raises(GatewayUnavailable):
        services.payment_cancel_or_refund(intent=intent, reason="courier failed")
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.SETTLED and not Refund.objects.filter(intent=intent).exists()
    assert services.payment_cancel_or_refund(intent=intent, reason="courier failed").status == "refunded"


def test_a_cancel_that_finds_the_payment_paid_refunds_it(reference, fake_gateway):
    intent = create(reference)
    fake_gateway.simulate(reference, "settlement")  # paid; its notification not applied here
    intent = services.payment_cancel_or_refund(intent=intent, reason="workshop cancelled")
    assert intent.status == PaymentStatus.REFUNDED
    assert fake_gateway.state()["transactions"][reference]["status"] == "refund"


def test_terms_are_voided(reference):
    intent = create(reference, PaymentMethod.TERMS)
    intent = services.payment_cancel_or_refund(intent=intent, reason="out of stock")
    assert intent.status == PaymentStatus.VOIDED
    assert services.payment_cancel_or_refund(intent=intent, reason="again").status == PaymentStatus.VOIDED
    assert topics(intent) == ["payment.settled", "payment.voided"]


def test_an_unpaid_payment_expires_and_is_cancelled_at_the_gateway(reference, fake_gateway):
    intent = create(reference)
    intent = services.payment_intent_expire(intent=intent)
    assert intent.status == PaymentStatus.EXPIRED
    assert fake_gateway.state()["transactions"][reference]["status"] == "cancel"
    assert services.payment_intent_expire(intent=intent).status == PaymentStatus.EXPIRED
    assert topics(intent) == ["payment.expired"]


def test_expiring_a_payment_that_was_paid_meanwhile_settles_it(reference, fake_gateway):
    intent = create(reference)
    fake_gateway.simulate(reference, "settlement")
    intent = services.payment_intent_expire(intent=intent)
    assert intent.status == PaymentStatus.SETTLED
    assert topics(intent) == ["payment.settled"]


def test_a_refresh_takes_over_a_missed_notification(reference, fake_gateway):
    intent = create(reference)
    fake_gateway.simulate(reference, "deny")
    assert services.payment_intent_refresh(intent=intent).status == PaymentStatus.DENIED
    assert topics(intent) == ["payment.denied"]


# --- Notifications are confirmed with the gateway (issue 11, item 1) ---------------------

def relabelled(body: bytes, *, transaction_status: str, transaction_id: str = "") -> bytes:
    """A genuine notification with its unsigned fields changed: the signature still verifies."""
    payload = json.loads(body)
    payload["transaction_status"] = transaction_status
    payload["transaction_id"] = transaction_id or f"forged-{payload['transaction_id']}"
    return json.dumps(payload).encode()


def test_a_pending_notification_relabelled_settlement_is_refused_and_recorded(reference, fake_gateway):
    intent = create(reference)
    [pending] = sent_notifications(fake_gateway, reference, count=1)
    forged = relabelled(pending, transaction_status="settlement")

    with pytest.raises(NotificationStatusMismatch) as caught:
        services.payment_notification_receive(raw_body=forged)

    assert caught.value.status == 400 and caught.value.code == "notification_status_mismatch"
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.PENDING and topics(intent) == []
    event = PaymentEvent.objects.get(reference=reference, transaction_status="settlement")
    assert event.signature_valid and not event.applied and event.outcome.startswith("refused:")
    assert "settlement does not go with status_code 201 (it is 200)" in event.outcome
    assert event.raw_body == forged.decode()


def test_a_consistent_signed_settlement_the_gateway_does_not_confirm_is_refused(reference, fake_gateway):
    """Signed with the right status code (signature_key_compute) but the gateway says pending."""
    intent = create(reference)
    transaction_id = fake_gateway.state()["transactions"][reference]["transaction_id"]
    body = signed(reference, "settlement", transaction_id=transaction_id)

    event = services.payment_notification_receive(raw_body=body)

    assert event.is_refused and not event.applied and "pending" in event.outcome
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.PENDING and topics(intent) == []


def test_a_settlement_relabelled_refund_does_not_mark_the_payment_refunded(reference, fake_gateway):
    intent = create(reference)
    fake_gateway.simulate(reference, "settlement")
    bodies = sent_notifications(fake_gateway, reference, count=2)
    assert services.payment_notification_receive(raw_body=bodies[-1]).applied
    # "refund" shares the settlement's status code "200": the signature still verifies.
    forged = relabelled(bodies[-1], transaction_status="refund",
                        transaction_id=json.loads(bodies[-1])["transaction_id"])

    event = services.payment_notification_receive(raw_body=forged)

    assert event.is_refused and not event.applied and "settlement" in event.outcome
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.SETTLED and topics(intent) == ["payment.settled"]
    assert not Refund.objects.filter(intent=intent).exists()


def test_a_refused_notification_does_not_take_the_genuine_ones_key(reference, fake_gateway):
    intent = create(reference)
    transaction_id = fake_gateway.state()["transactions"][reference]["transaction_id"]
    early = signed(reference, "settlement", transaction_id=transaction_id)  # the gateway still says pending
    assert services.payment_notification_receive(raw_body=early).is_refused
    settle(fake_gateway, reference)
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.SETTLED


def test_a_notification_the_gateway_cannot_confirm_now_is_stored_and_applied_on_redelivery(reference, fake_gateway):
    intent = create(reference)
    fake_gateway.simulate(reference, "settlement")
    body = sent_notifications(fake_gateway, reference, count=2)[-1]
    fake_gateway.set_faults(fail_next=1)  # the status request answers 500

    with pytest.raises(NotificationUnconfirmed) as caught:
        services.payment_notification_receive(raw_body=body)

    assert caught.value.status == 503
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.PENDING
    stored = PaymentEvent.objects.get(reference=reference, transaction_status="settlement")
    assert not stored.applied and stored.outcome.startswith("deferred:")
    # The gateway retries a notification we did not answer 2xx: that one is applied.
    assert services.payment_notification_receive(raw_body=body).applied
    intent.refresh_from_db()
    assert intent.status == PaymentStatus.SETTLED and topics(intent) == ["payment.settled"]
