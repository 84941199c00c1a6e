from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The parts list (workshops) shows each best offer's delivery cost and arrival day but may
        # not import orders (it sits below us): it asks through the seam
        # catalog.selectors.OfferDeliverySource.
        from catalog.selectors import offer_delivery_source_set
        from orders.services import offer_delivery_estimates

        offer_delivery_source_set(offer_delivery_estimates)
