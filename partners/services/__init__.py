"""Partners' services: webhook endpoints and their secrets (endpoints), and the deliveries of
events to them (deliveries)."""

# Endpoint management (endpoints).
from partners.services.endpoints import (
    DELIVER_TASK,
    TEST_TOPIC,
    EndpointWithSecret,
    deliveries_replay_failed,
    delivery_replay,
    endpoint_create,
    endpoint_delete,
    endpoint_disable,
    endpoint_enable,
    endpoint_pause,
    endpoint_resume,
    endpoint_secret_rotate,
    endpoint_test_send,
    endpoint_update,
    webhook_secret_generate,
)

__all__ = [
    # endpoints
    "DELIVER_TASK", "TEST_TOPIC", "EndpointWithSecret", "deliveries_replay_failed", "delivery_replay",
    "endpoint_create", "endpoint_delete", "endpoint_disable", "endpoint_enable", "endpoint_pause",
    "endpoint_resume", "endpoint_secret_rotate", "endpoint_test_send", "endpoint_update",
    "webhook_secret_generate",
]
