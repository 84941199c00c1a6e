from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from catalog.models import Part
from suppliers.offer_limits import SKU_MAX_LENGTH


class SupplierStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")


class Supplier(models.Model):
    """A company that sells parts through okto88."""

    legal_name = models.CharField(_("legal name"), max_length=200)
    npwp = models.CharField(_("NPWP"), max_length=20, blank=True)
    contact_name = models.CharField(_("contact name"), max_length=120, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=SupplierStatus.choices, default=SupplierStatus.PENDING
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")

    def __str__(self) -> str:
        return self.legal_name


class MemberRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    STAFF = "staff", _("Staff")


class SupplierMember(models.Model):
    """A user belongs to at most one supplier."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="supplier_membership")
    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="members", verbose_name=_("supplier"))
    role = models.CharField(_("role"), max_length=10, choices=MemberRole.choices, default=MemberRole.STAFF)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("supplier member")
        verbose_name_plural = _("supplier members")

    def __str__(self) -> str:
        return f"{self.user} @ {self.supplier}"


class SupplierApiClient(models.Model):
    """Binds a partner API client (a supplier's ERP) to the one supplier whose data it may touch."""

    api_client = models.OneToOneField("platform.ApiClient", on_delete=models.CASCADE, related_name="supplier_access")
    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="api_clients")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("supplier API client")
        verbose_name_plural = _("supplier API clients")

    def __str__(self) -> str:
        return f"{self.api_client} → {self.supplier}"


class Warehouse(models.Model):
    """A shipping origin. The area is an Indonesian administrative area (validated by services)."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="warehouses",
                                 verbose_name=_("supplier"))
    code = models.CharField(_("code"), max_length=20, help_text=_("Used in feeds, e.g. JKT1"))
    name = models.CharField(_("name"), max_length=120)
    province = models.CharField(_("province"), max_length=80)
    city = models.CharField(_("regency/city"), max_length=80)
    district = models.CharField(_("district"), max_length=80)
    postal_code = models.CharField(_("postal code"), max_length=5)
    address_line = models.CharField(_("street address"), max_length=200, blank=True)
    region_code = models.CharField(_("region code"), max_length=20, blank=True, help_text=_("Kemendagri code"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "code"], name="warehouse_supplier_code_unique"),
            models.CheckConstraint(
                condition=Q(postal_code__regex=r"^[0-9]{5}$"), name="warehouse_postal_code_5_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.city}"


class Offer(models.Model):
    """A supplier's price for a catalog part. Money is integer rupiah."""

    # No index of its own: offer_supplier_sku_unique (supplier, sku) serves supplier look-ups.
    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="offers", db_index=False,
                                 verbose_name=_("supplier"))
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="offers", verbose_name=_("part"))
    sku = models.CharField(_("supplier SKU"), max_length=SKU_MAX_LENGTH)
    price = models.BigIntegerField(_("price (Rp)"))
    min_order_qty = models.PositiveIntegerField(_("minimum order quantity"), default=1)
    pack_size = models.PositiveIntegerField(_("pack size"), default=1)
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (days)"), default=1)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "sku"], name="offer_supplier_sku_unique"),
            models.CheckConstraint(condition=Q(price__gt=0), name="offer_price_gt_0"),
            models.CheckConstraint(condition=Q(min_order_qty__gte=1), name="offer_min_order_qty_gte_1"),
            models.CheckConstraint(condition=Q(pack_size__gte=1), name="offer_pack_size_gte_1"),
        ]
        indexes = [
            models.Index(fields=["part", "price"], condition=Q(is_active=True), name="offer_part_active_price"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} · {self.part}"


class Stock(models.Model):
    """Stock of one offer in one warehouse. Changed only by suppliers.services, which write the
    ledger (StockMovement) in the same transaction, so on_hand always equals the ledger's sum."""

    # No index of its own: stock_offer_warehouse_unique (offer, warehouse) serves offer look-ups.
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="stocks", db_index=False,
                              verbose_name=_("offer"))
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stocks",
                                  verbose_name=_("warehouse"))
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        constraints = [
            models.UniqueConstraint(fields=["offer", "warehouse"], name="stock_offer_warehouse_unique"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_gte_0"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_lte_on_hand"),
        ]

    def __str__(self) -> str:
        # The title of the admin's stock pages: the part by name, in the reader's language.
        part = self.offer.part
        name = part.name_en if get_language() == "en" else part.name_id
        return gettext("%(part)s @ %(warehouse)s: %(on_hand)s (%(reserved)s reserved)") % {
            "part": f"{name} {part}", "warehouse": self.warehouse.name, "on_hand": self.on_hand,
            "reserved": self.reserved}

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MovementReason(models.TextChoices):
    ADJUSTMENT = "adjustment", _("Adjustment")
    IMPORT = "import", _("Import")
    RESERVATION = "reservation", _("Reservation")
    RELEASE = "release", _("Release")
    SHIPMENT = "shipment", _("Shipment")
    RETURN = "return", _("Return")


class StockMovement(models.Model):
    """The ledger: every change of a Stock row, append-only."""

    # No index of its own: movement_stock_time (stock, created_at) serves stock look-ups.
    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="movements", db_index=False,
                              verbose_name=_("stock"))
    reason = models.CharField(_("reason"), max_length=12, choices=MovementReason.choices)
    on_hand_delta = models.IntegerField(_("on hand change"), default=0)
    reserved_delta = models.IntegerField(_("reserved change"), default=0)
    on_hand_after = models.IntegerField(_("on hand after"))
    reserved_after = models.IntegerField(_("reserved after"))
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              verbose_name=_("by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        indexes = [models.Index(fields=["stock", "created_at"], name="movement_stock_time")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(on_hand_delta=0) | ~Q(reserved_delta=0), name="movement_changes_something"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(reason)s: on hand %(on_hand)+d, reserved %(reserved)+d") % {
            "reason": self.get_reason_display(), "on_hand": self.on_hand_delta, "reserved": self.reserved_delta}


class FeedStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    # Some rows applied, some rejected (see the error report): not a success to show as one.
    PARTIAL = "partial", _("Partly applied")
    FAILED = "failed", _("Failed")


class FeedImport(models.Model):
    """One uploaded price/stock feed and what its import did."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="feed_imports",
                                 verbose_name=_("supplier"))
    file = models.FileField(_("file"), upload_to="feeds/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=FeedStatus.choices, default=FeedStatus.PENDING)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    offers_changed = models.PositiveIntegerField(_("offers changed"), default=0)
    stock_changed = models.PositiveIntegerField(_("stock rows changed"), default=0)
    error = models.TextField(_("error"), blank=True)
    errors_report = models.FileField(_("error report"), upload_to="feeds/reports/%Y/%m/", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   verbose_name=_("uploaded by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("feed import")
        verbose_name_plural = _("feed imports")
        indexes = [models.Index(fields=["supplier", "-created_at"], name="feed_supplier_recent")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"


class PartBestOffer(models.Model):
    """Read model: per part, the offer a workshop would pick first (in stock, then cheapest,
    then quickest), the total available stock and how many suppliers sell it, over the active
    offers of active suppliers and the stock of active warehouses.

    Written only by services.part_best_offer_refresh, in the transaction of every change of
    offers, stock, warehouses or suppliers: the search pages read one row per part instead of
    aggregating every offer and stock row of popular parts (thousands) on each request.
    A part whose offers all went away keeps its row with supplier_count 0."""

    # No foreign-key constraints: derived rows, rebuilt from offers; the refresh writes them
    # set-based (a feed refreshes ~100,000 parts) without a per-row RI check.
    part = models.OneToOneField(Part, on_delete=models.CASCADE, primary_key=True, db_constraint=False,
                                related_name="+")
    offer_id = models.BigIntegerField(null=True)
    supplier_id = models.BigIntegerField(null=True)
    price = models.BigIntegerField(null=True)
    lead_time_days = models.PositiveSmallIntegerField(null=True)
    available = models.IntegerField(default=0)
    total_available = models.BigIntegerField(default=0)
    supplier_count = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("best offer of a part")
        verbose_name_plural = _("best offers of parts")

    def __str__(self) -> str:
        return f"{self.part_id}: {self.offer_id}"
