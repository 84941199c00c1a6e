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

# Endpoint management (endpoints): what the webhooks API and admin call.
from partners.services.endpoints import (  # noqa: F401
    EndpointWithSecret,
    endpoint_create,
    endpoint_delete,
    endpoint_deliveries_replay_failed,
    endpoint_delivery_replay,
    endpoint_enable,
    endpoint_pause,
    endpoint_resume,
    endpoint_secret_rotate,
    endpoint_test_send,
    endpoint_update,
    webhook_secret_generate,
)
