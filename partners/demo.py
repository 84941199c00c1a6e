"""Demo data for `make run`: the demo supplier's ERP as a partner, with a webhook endpoint at the
project's fake receiver, so its price, stock and supplier-order events are delivered (and seen in
admin → Webhook deliveries, and at the receiver's `/_received/demo-erp`) from the first run.
Idempotent: the client, its key and its endpoint are made once."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from okto88 import services as platform_services
from okto88.demo import DEMO_LOGINS
from okto88.models import ApiKey, Scope
from partners import services
from partners.models import WebhookEndpoint
from suppliers.models import SupplierMember
from suppliers.services import supplier_api_client_bind

DEMO_CLIENT = "ERP demo supplier"
DEMO_RECEIVER_NAME = "demo-erp"
DEMO_EVENT_TYPES = ["offer.price_changed", "offer.price_changed_batch", "stock.changed", "stock.changed_batch",
                    "supplier_order.created", "supplier_order.accepted", "supplier_order.rejected",
                    "supplier_order.ready_to_ship", "supplier_order.confirmed", "supplier_order.shipped",
                    "supplier_order.delivered", "supplier_order.cancelled"]


@transaction.atomic
def demo_load() -> list[str]:
    member = SupplierMember.objects.select_related("supplier").filter(user__email=DEMO_LOGINS["supplier"]).first()
    if member is None:
        return []
    client = platform_services.api_client_ensure(name=DEMO_CLIENT)
    supplier_api_client_bind(supplier_id=member.supplier_id, api_client=client)
    if not ApiKey.objects.filter(client=client, revoked_at__isnull=True).exists():
        platform_services.api_key_issue(client=client, name="demo ERP",
                                        scopes=[Scope.STOCK_WRITE, Scope.ORDERS_READ, Scope.WEBHOOKS_MANAGE])
    url = f"{settings.WEBHOOK_FAKE_RECEIVER_URL.rstrip('/')}/hooks/{DEMO_RECEIVER_NAME}"
    if not WebhookEndpoint.objects.filter(api_client=client).exists():
        services.endpoint_create(api_client=client, url=url, event_types=DEMO_EVENT_TYPES,
                                 description=f"{member.supplier.legal_name}: ERP (demo, the fake receiver)")
    received = f"{settings.WEBHOOK_FAKE_RECEIVER_URL.rstrip('/')}/_received/{DEMO_RECEIVER_NAME}"
    return [f"webhooks: {member.supplier.legal_name}'s ERP receives its events at the fake receiver ({received})"]
