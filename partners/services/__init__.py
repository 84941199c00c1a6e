"""Partners' services: webhook endpoints and their secrets (endpoints), and the deliveries of
events to them (deliveries)."""

# Deliveries (the delivery engine).
from partners.services.deliveries import (  # noqa: F401
    deliveries_due,
    deliveries_replay_failed,
    delivery_replay,
    delivery_test_create,
    endpoint_disable,
    webhook_deliver,
    webhooks_fanout,
)
