from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuppliersConfig(AppConfig):
    name = "suppliers"
    verbose_name = _("Suppliers")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The catalog's search pages show each part's best offer but may not import suppliers
        # (it sits below us): it asks through the seam catalog.selectors.BestOfferSource.
        from catalog.selectors import best_offer_source_set
        from suppliers.selectors import part_best_offers

        best_offer_source_set(part_best_offers)
