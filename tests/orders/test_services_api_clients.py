"""orders.services.api_client_bind: a client acts for one supplier or one workshop, never both."""

from __future__ import annotations

import pytest

from okto88.errors import ApiClientActsElsewhere
from orders import services
from suppliers.models import SupplierApiClient
from tests.platform.factories import ApiClientFactory
from tests.suppliers.factories import SupplierFactory
from tests.workshops.factories import WorkshopFactory
from workshops.models import WorkshopApiClient

pytestmark = pytest.mark.django_db


def test_a_client_bound_to_a_workshop_is_refused_a_supplier_and_the_other_way_round():
    workshop, supplier = WorkshopFactory(), SupplierFactory()
    fleet, erp = ApiClientFactory(), ApiClientFactory()
    binding = services.api_client_bind(api_client=fleet, workshop_id=workshop.pk)
    assert isinstance(binding, WorkshopApiClient) and binding.workshop == workshop
    assert services.api_client_bind(api_client=erp, supplier_id=supplier.pk).supplier == supplier

    with pytest.raises(ApiClientActsElsewhere, match=f"already acts for workshop {workshop.pk}"):
        services.api_client_bind(api_client=fleet, supplier_id=supplier.pk)
    with pytest.raises(ApiClientActsElsewhere, match=f"already acts for supplier {supplier.pk}"):
        services.api_client_bind(api_client=erp, workshop_id=workshop.pk)
    assert list(SupplierApiClient.objects.values_list("api_client", flat=True)) == [erp.pk]
    assert list(WorkshopApiClient.objects.values_list("api_client", flat=True)) == [fleet.pk]
