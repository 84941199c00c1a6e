"""The webhooks API end to end, with a real worker and the fake partner receiver over real HTTP:
a partner creates an endpoint, sends itself a test message that arrives signed with the secret it
was shown, reads the attempt in its delivery log, rotates the secret and replays a delivery."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from okto88.models import Scope
from tests.partners.deliveries_support import wait_until
from tests.platform.factories import issue_api_key
from tests.suppliers.factories import SupplierApiClientFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
BASE = "/api/v1/webhooks/endpoints/"


def test_a_partner_tests_rotates_and_replays_through_the_api(celery_worker, fake_receiver):
    receiver = fake_receiver
    issued = issue_api_key(scopes=[Scope.STOCK_WRITE, Scope.WEBHOOKS_MANAGE])
    SupplierApiClientFactory(api_client=issued.api_key.client)
    partner = APIClient()
    partner.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    created = partner.post(BASE, {"url": receiver.endpoint_url("api-erp"), "event_types": ["offer.price_changed"]},
                           format="json").json()
    endpoint = f"{BASE}{created['id']}/"
    old_secret = created["secret"]
    receiver.configure("api-erp", secrets=[old_secret])

    # A test message arrives, verifiable with the secret shown at creation; the log shows the attempt.
    test = partner.post(f"{endpoint}test/", {"message": "halo dari okto88"}, format="json").json()
    wait_until(lambda: len(receiver.received("api-erp")) == 1, worker=celery_worker, what="the test message")
    (first,) = receiver.received("api-erp")
    assert first["webhook_id"] == test["message_id"] and first["verified_by"] == [0]
    assert json.loads(first["body"])["data"]["message"] == "halo dari okto88"
    detail_url = f"{endpoint}deliveries/{test['delivery']}/"
    wait_until(lambda: partner.get(detail_url).json()["status"] == "succeeded", worker=celery_worker,
               what="the delivery to be logged")
    detail = partner.get(detail_url).json()
    assert [(a["number"], a["outcome"], a["status_code"]) for a in detail["attempt_log"]] == [(1, "ok", 204)]

    # Rotated with an overlap: the next message verifies with the old secret and with the new one.
    new_secret = partner.post(f"{endpoint}rotate-secret/", {"overlap_hours": 1}, format="json").json()["secret"]
    receiver.configure("api-erp", secrets=[old_secret, new_secret])  # a new setup: its log starts empty
    partner.post(f"{endpoint}test/", {}, format="json")
    wait_until(lambda: len(receiver.received("api-erp")) == 1, worker=celery_worker, what="the second message")
    assert sorted(receiver.received("api-erp")[0]["verified_by"]) == [0, 1]

    # A replay sends the first delivery again with its webhook-id; its attempts are numbered on.
    assert partner.post(f"{detail_url}replay/").status_code == 202
    wait_until(lambda: len(receiver.received("api-erp")) == 2, worker=celery_worker, what="the replay")
    assert receiver.received("api-erp")[1]["webhook_id"] == test["message_id"]
    wait_until(lambda: len(partner.get(detail_url).json()["attempt_log"]) == 2, worker=celery_worker,
               what="the replay's attempt in the log")
    assert [a["number"] for a in partner.get(detail_url).json()["attempt_log"]] == [1, 2]
