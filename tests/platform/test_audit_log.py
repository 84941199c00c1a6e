"""The audit log: each sensitive change writes exactly one entry (actor, target, supplier) in
the change's transaction and no secret; the database refuses to change or delete an entry, even
through raw SQL as the application's role; operators see everything read-only, a supplier only
its own entries."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from okto88 import services as platform_services
from okto88.audit import AUDIT_CHANGES_MAX_BYTES, audit_changes_clean, audit_record
from okto88.models import AuditActorKind, AuditEntry, AuditEntryChanged, Scope
from partners import services as partner_services
from partners.models import EndpointDisabledReason
from payments import services as payment_services
from payments.errors import GatewayUnavailable
from payments.models import PaymentIntent, PaymentMethod, PaymentStatus
from suppliers import services as supplier_services
from suppliers.models import MovementReason
from tests.platform.factories import ApiClientFactory, OperatorFactory, UserFactory, issue_api_key
from tests.suppliers.factories import (
    OfferFactory,
    StockFactory,
    SupplierApiClientFactory,
    SupplierFactory,
    SupplierMemberFactory,
)
from tests.workshops.factories import WorkshopFactory
from workshops import services as workshop_services

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret-Passw0rd"  # tests.platform.factories.UserFactory's
HOOK = "http://127.0.0.1:9/hooks"
ENDPOINTS = "/api/v1/webhooks/endpoints/"
SECRET_MARKERS = ("whsec_", "okto_", PASSWORD)


def entries(action: str | None = None) -> list[AuditEntry]:
    qs = AuditEntry.objects.order_by("id")
    return list(qs.filter(action=action) if action else qs)


def only_entry(action: str) -> AuditEntry:
    found = entries(action)
    assert len(found) == 1, [(e.action, e.changes) for e in found]
    return found[0]


def assert_no_secret(entry: AuditEntry, *secrets: str) -> None:
    text = json.dumps(entry.changes)
    for secret in (*SECRET_MARKERS, *secrets):
        assert secret not in text, (entry.action, secret)
    for name in ("key", "secret", "password", "signature", "digest", "token"):
        assert f'"{name}' not in text.lower() and f'_{name}"' not in text.lower(), (entry.action, name)


def api(raw_key: str, address: str = "203.0.113.9") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def operator_client(operator=None) -> Client:
    client = Client(REMOTE_ADDR="198.51.100.7")
    client.force_login(operator or OperatorFactory())
    return client


# --- API keys -----------------------------------------------------------------------------------

def test_issue_rotate_and_revoke_each_write_one_entry_with_the_actor_and_the_keys_supplier():
    operator = OperatorFactory()
    client = ApiClientFactory(name="ERP Sumber Jaya")
    supplier = SupplierApiClientFactory(api_client=client).supplier
    issued = platform_services.api_key_issue(client=client, name="prod", scopes=[Scope.STOCK_WRITE], actor=operator)
    entry = only_entry("api_key.issued")
    assert (entry.actor_kind, entry.actor_user_id, entry.actor_label) == (AuditActorKind.USER, operator.pk,
                                                                          operator.email)
    assert (entry.target_type, entry.target_id) == ("platform.apikey", str(issued.api_key.pk))
    assert entry.supplier_id == supplier.pk and entry.workshop_id is None
    assert entry.changes["scopes"] == ["stock:write"] and entry.changes["prefix"] == issued.api_key.prefix

    rotated = platform_services.api_key_rotate(api_key=issued.api_key, overlap_hours=2, actor=operator)
    entry = only_entry("api_key.rotated")
    assert entry.target_id == str(issued.api_key.pk) and entry.changes["successor"] == rotated.issued.api_key.prefix
    assert entry.changes["overlap_hours"] == 2 and entry.supplier_id == supplier.pk

    platform_services.api_key_revoke(api_key=issued.api_key, actor=operator)
    platform_services.api_key_revoke(api_key=issued.api_key, actor=operator)  # already revoked: nothing new
    assert only_entry("api_key.revoked").target_id == str(issued.api_key.pk)
    assert len(entries()) == 3
    for entry in entries():
        assert_no_secret(entry, issued.raw_key, rotated.issued.raw_key, issued.api_key.digest)


def test_a_key_issued_in_admin_records_the_operator_and_the_address(client):
    operator = OperatorFactory()
    partner = ApiClientFactory()
    browser = operator_client(operator)
    response = browser.post("/admin/platform/apikey/add/", {"client": partner.pk, "name": "prod",
                                                            "scopes": ["catalog:read"]}, follow=True)
    assert response.status_code == 200
    entry = only_entry("api_key.issued")
    assert entry.actor_user_id == operator.pk and entry.ip_address == "198.51.100.7"
    assert entry.request_id and len(entry.request_id) == 32


# --- Webhook endpoints and secrets -----------------------------------------------------------

def test_a_partners_endpoint_changes_are_recorded_as_its_api_client_without_the_secret():
    issued = issue_api_key(scopes=[Scope.STOCK_WRITE, Scope.WEBHOOKS_MANAGE])
    supplier = SupplierApiClientFactory(api_client=issued.api_key.client).supplier
    partner = api(issued.raw_key)
    created = partner.post(ENDPOINTS, {"url": f"{HOOK}?token=abc123", "event_types": ["offer.price_changed"]},
                           format="json")
    assert created.status_code == 201, created.content
    endpoint_id, first_secret = created.json()["id"], created.json()["secret"]
    entry = only_entry("webhook_endpoint.created")
    assert (entry.actor_kind, entry.actor_api_client_id) == (AuditActorKind.API_CLIENT, issued.api_key.client_id)
    assert entry.target_id == str(endpoint_id) and entry.supplier_id == supplier.pk
    assert entry.changes["after"]["url"] == HOOK  # the query (a receiver's token) is left out
    assert entry.ip_address == "203.0.113.9"

    assert partner.patch(f"{ENDPOINTS}{endpoint_id}/", {"description": "ERP"}, format="json").status_code == 200
    assert partner.patch(f"{ENDPOINTS}{endpoint_id}/", {"description": "ERP"}, format="json").status_code == 200
    entry = only_entry("webhook_endpoint.changed")  # the second changed nothing
    assert entry.changes == {"client": issued.api_key.client.name, "before": {"description": ""},
                             "after": {"description": "ERP"}}

    rotated = partner.post(f"{ENDPOINTS}{endpoint_id}/rotate-secret/", {"overlap_hours": 2}, format="json")
    assert rotated.status_code == 200
    assert only_entry("webhook_secret.rotated").changes["overlap_hours"] == 2

    assert partner.delete(f"{ENDPOINTS}{endpoint_id}/").status_code == 204
    assert only_entry("webhook_endpoint.deleted").target_id == str(endpoint_id)
    for entry in entries():
        assert_no_secret(entry, first_secret, rotated.json()["secret"], "abc123")


def test_an_operators_secret_rotation_in_admin_is_the_operators():
    issued = issue_api_key(scopes=[Scope.STOCK_WRITE, Scope.WEBHOOKS_MANAGE])
    SupplierApiClientFactory(api_client=issued.api_key.client)
    created = api(issued.raw_key).post(ENDPOINTS, {"url": HOOK, "event_types": ["offer.price_changed"]},
                                       format="json").json()
    operator = OperatorFactory()
    operator_client(operator).post("/admin/partners/webhookendpoint/",
                                   {"action": "rotate_secret", "_selected_action": [created["id"]]})
    entry = only_entry("webhook_secret.rotated")
    assert entry.actor_user_id == operator.pk and entry.actor_kind == AuditActorKind.USER


def test_an_operators_disable_and_enable_are_the_operators_and_the_engines_disable_is_the_systems():
    issued = issue_api_key(scopes=[Scope.STOCK_WRITE, Scope.WEBHOOKS_MANAGE])
    SupplierApiClientFactory(api_client=issued.api_key.client)
    endpoint_id = api(issued.raw_key).post(ENDPOINTS, {"url": HOOK, "event_types": ["offer.price_changed"]},
                                           format="json").json()["id"]
    operator = OperatorFactory()
    browser = operator_client(operator)
    for action in ("disable_selected", "enable_selected"):
        browser.post("/admin/partners/webhookendpoint/", {"action": action, "_selected_action": [endpoint_id]})
    disabled, enabled = entries("webhook_endpoint.changed")
    assert disabled.changes["after"] == {"disabled": True, "reason": "operator"}
    assert enabled.changes["after"] == {"disabled": False}
    assert disabled.actor_user_id == enabled.actor_user_id == operator.pk
    partner_services.endpoint_disable(endpoint_id=endpoint_id, reason=EndpointDisabledReason.GONE)
    engine = entries("webhook_endpoint.changed")[-1]
    assert (engine.actor_kind, engine.actor_label) == (AuditActorKind.SYSTEM, "webhook delivery engine")


# --- Credit limits ---------------------------------------------------------------------------------

def admin_change_data(response) -> dict:
    """The POST a change form would send unchanged: the form's initial values and empty inlines."""
    form = response.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if name in form.fields and value is not None}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update({f"{formset.prefix}-{name}": value for name, value in formset.management_form.initial.items()})
    return data


def test_an_operator_changes_a_credit_limit_in_admin_through_the_service():
    workshop = WorkshopFactory(credit_limit=50_000_000)
    operator = OperatorFactory()
    browser = operator_client(operator)
    url = f"/admin/workshops/workshop/{workshop.pk}/change/"
    data = admin_change_data(browser.get(url))
    assert browser.post(url, {**data, "credit_limit": 75_000_000}).status_code == 302
    workshop.refresh_from_db()
    assert workshop.credit_limit == 75_000_000
    entry = only_entry("credit_limit.changed")
    assert entry.changes == {"credit_limit": {"before": 50_000_000, "after": 75_000_000}}
    assert (entry.workshop_id, entry.supplier_id, entry.actor_user_id) == (workshop.pk, None, operator.pk)
    assert (entry.target_type, entry.target_id) == ("workshops.workshop", str(workshop.pk))
    # Saving the form again with the same limit records nothing.
    assert browser.post(url, {**data, "name": "Bengkel Baru", "credit_limit": 75_000_000}).status_code == 302
    assert len(entries("credit_limit.changed")) == 1


def test_a_credit_limit_change_that_rolls_back_leaves_no_entry():
    workshop = WorkshopFactory(credit_limit=1_000)
    with pytest.raises(RuntimeError), transaction.atomic():
        workshop_services.workshop_credit_limit_set(workshop=workshop, credit_limit=2_000, actor=OperatorFactory())
        raise RuntimeError("the rest of the change failed")
    workshop.refresh_from_db()
    assert workshop.credit_limit == 1_000 and entries() == []


@pytest.mark.parametrize("bad", [-1, 10**15 + 1, "100", 1.5, True])
def test_a_credit_limit_out_of_bounds_is_refused_and_nothing_recorded(bad):
    from okto88.errors import InvalidField

    workshop = WorkshopFactory(credit_limit=1_000)
    with pytest.raises(InvalidField):
        workshop_services.workshop_credit_limit_set(workshop=workshop, credit_limit=bad)
    workshop.refresh_from_db()
    assert workshop.credit_limit == 1_000 and entries() == []


# --- Bulk price changes and stock adjustments (the supplier admin) ------------------------------

@pytest.fixture
def member_a():
    offer = OfferFactory(sku="A-1", price=10_000)
    member = SupplierMemberFactory(supplier=offer.supplier).user
    client = Client(REMOTE_ADDR="192.0.2.44")
    client.force_login(member)
    return {"offer": offer, "supplier": offer.supplier, "member": member, "client": client}


def test_a_bulk_price_change_writes_one_entry_for_the_supplier(member_a):
    second = OfferFactory(sku="A-2", price=20_000, supplier=member_a["supplier"])
    selected = {"action": "change_prices", "_selected_action": [member_a["offer"].pk, second.pk]}
    member_a["client"].post("/supplier-admin/suppliers/offer/", {**selected, "apply": "1", "percent": "10"})
    entry = only_entry("offer_prices.bulk_changed")
    assert entry.supplier_id == member_a["supplier"].pk and entry.actor_user_id == member_a["member"].pk
    assert entry.changes["count"] == 2 and entry.changes["percent"] == "10"
    expected = [[member_a["offer"].pk, 10_000, 11_000], [second.pk, 20_000, 22_000]]
    assert sorted(entry.changes["offers"]) == sorted(expected)


def test_an_operators_bulk_price_change_over_two_suppliers_writes_one_entry_each():
    a, b = OfferFactory(price=1_000), OfferFactory(price=2_000)
    supplier_services.offer_bulk_change_price(supplier=None, offer_ids=[a.pk, b.pk], percent=5,
                                              actor=OperatorFactory())
    assert sorted(e.supplier_id for e in entries("offer_prices.bulk_changed")) == sorted([a.supplier_id,
                                                                                        b.supplier_id])


def test_manual_stock_adjustments_are_recorded_and_returns_are_not(member_a):
    stock = StockFactory(offer=member_a["offer"], on_hand=10)
    url = f"/supplier-admin/suppliers/stock/{stock.pk}/change/"
    assert member_a["client"].post(url, {"set_on_hand": 9, "note": "stock opname"}).status_code == 302
    assert member_a["client"].post(url, {"adjust_by": -2, "note": "broken"}).status_code == 302
    first, second = entries("stock.adjusted")
    assert first.changes["on_hand"] == {"before": 10, "after": 9} and first.changes["note"] == "admin: stock opname"
    assert second.changes["on_hand"] == {"before": 9, "after": 7}
    assert {first.supplier_id, second.supplier_id} == {member_a["supplier"].pk}
    assert first.actor_user_id == member_a["member"].pk and first.ip_address == "192.0.2.44"
    supplier_services.stock_return(stock=stock, quantity=1, reference="order OK-1")
    supplier_services.stock_adjust(stock=stock, delta=1, reason=MovementReason.IMPORT)
    assert len(entries("stock.adjusted")) == 2


# --- Refunds --------------------------------------------------------------------------------------

def settled_intent(amount: int = 300_000) -> PaymentIntent:
    return PaymentIntent.objects.create(reference=f"OK-A-{uuid.uuid4().hex[:10]}", amount=amount,
                                        method=PaymentMethod.VIRTUAL_ACCOUNT, status=PaymentStatus.SETTLED)


def test_a_part_refund_writes_one_entry_however_often_it_is_recorded():
    intent = settled_intent()
    for _ in range(2):
        payment_services.payment_refund_part(intent=intent, amount=100_000, refund_key="OK-1-part-1",
                                             reason="supplier rejected")
    entry = only_entry("refund.issued")
    assert entry.changes == {"payment": intent.reference, "method": "virtual_account", "amount": 100_000,
                             "reason": "supplier rejected"}
    assert entry.actor_kind == AuditActorKind.SYSTEM and entry.target_type == "payments.refund"


def test_a_refund_the_gateway_refuses_is_rolled_back_with_its_entry(fake_gateway, settings):
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    settings.PARTNER_HTTP_TIMEOUT_SECONDS = 1.0
    fake_gateway.set_faults(fail_next=1)
    try:
        with pytest.raises(GatewayUnavailable):
            payment_services.payment_cancel_or_refund(intent=settled_intent(), reason="courier failed")
    finally:
        fake_gateway.set_faults()
    assert entries() == []


# --- Logins -----------------------------------------------------------------------------------------

def test_logins_that_open_an_admin_are_recorded_and_a_workshop_members_is_not():
    operator = OperatorFactory()
    member = SupplierMemberFactory().user
    Client(REMOTE_ADDR="198.51.100.20").post("/admin/login/", {"username": operator.email, "password": PASSWORD})
    entry = only_entry("login.admin")
    assert (entry.actor_user_id, entry.ip_address, entry.supplier_id) == (operator.pk, "198.51.100.20", None)
    Client().post("/supplier-admin/login/", {"username": member.email, "password": PASSWORD})
    entry = only_entry("login.supplier_admin")
    assert entry.actor_user_id == member.pk and entry.supplier_id == member.supplier_membership.supplier_id
    Client().post("/accounts/login/", {"username": UserFactory().email, "password": PASSWORD})
    Client().post("/admin/login/", {"username": operator.email, "password": "wrong"})
    assert len(entries()) == 2
    # An operator on the site's own login page: the session opens /admin/ all the same.
    Client(REMOTE_ADDR="198.51.100.21").post("/accounts/login/", {"username": operator.email, "password": PASSWORD})
    assert [(e.action, e.ip_address) for e in entries() if e.ip_address == "198.51.100.21"] == [
        ("login.admin", "198.51.100.21")]
    for entry in entries():
        assert_no_secret(entry)


# --- Append-only ------------------------------------------------------------------------------------

def recorded() -> AuditEntry:
    with transaction.atomic():
        return audit_record(action="credit_limit.changed", actor="test", target=("workshops.workshop", 1),
                            changes={"credit_limit": {"before": 1, "after": 2}})


@pytest.mark.parametrize("sql", [
    "UPDATE platform_auditentry SET action = 'x' WHERE id = %s",
    "UPDATE platform_auditentry SET changes = '{}'::jsonb WHERE id = %s",
    "DELETE FROM platform_auditentry WHERE id = %s",
])
def test_raw_sql_as_the_applications_role_cannot_change_or_delete_an_entry(sql):
    entry = recorded()
    before = AuditEntry.objects.values().get(pk=entry.pk)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.values().get(pk=entry.pk) == before


def test_the_orm_refuses_first_with_a_clear_error():
    entry = recorded()
    entry.action = "x"
    for attempt in (entry.save, entry.delete, AuditEntry.objects.all().delete,
                    lambda: AuditEntry.objects.filter(pk=entry.pk).update(action="x")):
        with pytest.raises(AuditEntryChanged):
            attempt()
    assert AuditEntry.objects.get(pk=entry.pk).action == "credit_limit.changed"


@pytest.mark.django_db(transaction=True)
def test_an_entry_is_written_only_inside_the_changes_transaction():
    # Autocommit, as a service that forgot its transaction would run.
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_record(action="credit_limit.changed", actor="test")
    assert entries() == []
    # Committed for real: the test runner's flush (TRUNCATE) after this test must still empty the table.
    recorded()
    assert len(entries()) == 1


def test_changes_never_hold_a_secret_and_are_bounded():
    cleaned = audit_changes_clean({"name": "prod", "raw_key": "okto_x", "secret": "whsec_y", "nested": {
        "password": "p", "webhook_signature": "s", "token": "t", "kept": 1}, "rows": [{"api_key": "k", "n": 2}]})
    assert cleaned == {"name": "prod", "nested": {"kept": 1}, "rows": [{"n": 2}]}
    big = audit_changes_clean({f"field{i}": "x" * 100 for i in range(200)})
    assert big["truncated"] is True and len(json.dumps(big)) <= AUDIT_CHANGES_MAX_BYTES
    with pytest.raises(ValueError), transaction.atomic():
        audit_record(action="not.an.action")


# --- Who sees what ---------------------------------------------------------------------------------

def test_a_supplier_sees_only_its_own_entries_even_by_direct_url(member_a):
    other = SupplierFactory()
    with transaction.atomic():
        own = audit_record(action="stock.adjusted", actor=member_a["member"], supplier_id=member_a["supplier"].pk,
                           target=("suppliers.stock", 1))
        foreign = audit_record(action="stock.adjusted", actor=OperatorFactory(), supplier_id=other.pk,
                               target=("suppliers.stock", 2))
        platform_wide = audit_record(action="login.admin", actor=OperatorFactory())
    client = member_a["client"]
    listed = client.get("/supplier-admin/platform/auditentry/")
    assert listed.status_code == 200
    assert [e.pk for e in listed.context["cl"].result_list] == [own.pk]
    own_page = client.get(f"/supplier-admin/platform/auditentry/{own.pk}/change/")
    assert own_page.status_code == 200 and member_a["member"].email in own_page.content.decode()
    for entry in (foreign, platform_wide):
        for suffix in ("change/", "delete/", "history/"):
            assert client.get(f"/supplier-admin/platform/auditentry/{entry.pk}/{suffix}").status_code == 404
    # Read-only for the member too.
    assert client.post(f"/supplier-admin/platform/auditentry/{own.pk}/change/", {"action": "x"}).status_code == 403
    assert client.post(f"/supplier-admin/platform/auditentry/{own.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/supplier-admin/platform/auditentry/add/").status_code == 403
    assert AuditEntry.objects.get(pk=own.pk).action == "stock.adjusted"
    # The operator who acted on the supplier's data is not named to the supplier.
    with transaction.atomic():
        by_operator = audit_record(action="stock.adjusted", actor=OperatorFactory(),
                                   supplier_id=member_a["supplier"].pk)
    page = client.get(f"/supplier-admin/platform/auditentry/{by_operator.pk}/change/").content.decode()
    assert by_operator.actor_label not in page


def test_operators_see_every_entry_read_only():
    with transaction.atomic():
        entry = audit_record(action="stock.adjusted", actor="test", supplier_id=SupplierFactory().pk)
        audit_record(action="login.admin", actor="test")
    browser = operator_client()
    listed = browser.get("/admin/platform/auditentry/")
    assert listed.status_code == 200 and len(listed.context["cl"].result_list) == 2
    assert browser.get("/admin/platform/auditentry/", {"action": "login.admin"}).context["cl"].result_count == 1
    assert browser.get("/admin/platform/auditentry/", {"supplier_id": entry.supplier_id}).context[
        "cl"].result_count == 1
    assert browser.get(f"/admin/platform/auditentry/{entry.pk}/change/").status_code == 200  # the view page
    assert browser.post(f"/admin/platform/auditentry/{entry.pk}/change/", {"action": "x"}).status_code == 403
    assert browser.post(f"/admin/platform/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert browser.get("/admin/platform/auditentry/add/").status_code == 403
    browser.post("/admin/platform/auditentry/", {"action": "delete_selected", "_selected_action": [entry.pk],
                                                 "post": "yes"})
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
    assert AuditEntry.objects.get(pk=entry.pk).action == "stock.adjusted"


def test_an_entry_is_kept_when_its_actor_and_target_are_deleted():
    operator = OperatorFactory()
    issued = issue_api_key()
    platform_services.api_key_revoke(api_key=issued.api_key, actor=operator)
    issued.api_key.client.delete()  # cascades to its keys
    operator.delete()
    entry = only_entry("api_key.revoked")
    assert entry.actor_label == operator.email and entry.target_id == str(issued.api_key.pk)


def test_the_setting_names_an_overlap_the_service_accepts():
    assert 0 <= settings.API_KEY_ROTATION_OVERLAP_HOURS <= platform_services.API_KEY_ROTATION_OVERLAP_MAX_HOURS


def test_the_rotation_overlap_is_bounded():
    from okto88.errors import InvalidField

    issued = issue_api_key()
    for bad in (-1, platform_services.API_KEY_ROTATION_OVERLAP_MAX_HOURS + 1, "24", 1.5, True):
        with pytest.raises(InvalidField):
            platform_services.api_key_rotate(api_key=issued.api_key, overlap_hours=bad)
    assert entries("api_key.rotated") == [] and issued.api_key.client.keys.count() == 1
    soon = timezone.now() + timedelta(hours=1)
    issued.api_key.expires_at = soon
    issued.api_key.save(update_fields=["expires_at"])
    rotated = platform_services.api_key_rotate(api_key=issued.api_key, overlap_hours=48)
    assert rotated.previous.expires_at == soon  # an earlier expiry is never pushed back
