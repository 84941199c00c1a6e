from __future__ import annotations

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class Role(models.TextChoices):
    OPERATOR = "operator", _("Operator")
    SUPPLIER_MEMBER = "supplier_member", _("Supplier member")
    WORKSHOP_MEMBER = "workshop_member", _("Workshop member")
    NONE = "none", _("No role")


class User(AbstractUser):
    """A person who logs in. The role follows from staff status or a membership row."""

    username = None
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    preferred_language = models.CharField(
        _("language"), max_length=8, choices=[("id", "Bahasa Indonesia"), ("en", "English")], default="id"
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.email

    @property
    def role(self) -> Role:
        if self.is_staff:
            return Role.OPERATOR
        if hasattr(self, "supplier_membership"):
            return Role.SUPPLIER_MEMBER
        if hasattr(self, "workshop_membership"):
            return Role.WORKSHOP_MEMBER
        return Role.NONE


class Scope(models.TextChoices):
    CATALOG_READ = "catalog:read", "catalog:read"
    STOCK_WRITE = "stock:write", "stock:write"
    ORDERS_READ = "orders:read", "orders:read"
    ORDERS_WRITE = "orders:write", "orders:write"
    # The operations figures (/api/v1/ops/): operators' tools only, never a supplier's or a
    # workshop's key (orders.services.api_clients refuses them; the ops API checks again).
    OPS_READ = "ops:read", "ops:read"
    # A partner's own webhook endpoints and their delivery log (/api/v1/webhooks/): what they
    # receive is still only what the client's other scopes let it see (partners.selectors).
    WEBHOOKS_MANAGE = "webhooks:manage", "webhooks:manage"


class ApiClient(models.Model):
    """A partner system (supplier ERP, fleet system, shop) that calls the API with keys."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    rate_limit = models.CharField(
        _("rate limit"),
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^[1-9][0-9]{0,6}/(s|sec|m|min|h|hour|d|day)$")],
        help_text=_("Requests per period, e.g. 1200/min. Empty: the platform default."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """Only a SHA-256 of the key is stored: the key has 256 bits of entropy, so a slow hash
    adds nothing; the prefix finds the row, the digest is compared in constant time."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(_("name"), max_length=120)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    scopes = ArrayField(models.CharField(max_length=32, choices=Scope.choices), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The address of the request that last wrote last_used_at (same resolution).
    last_used_ip = models.GenericIPAddressField(_("last used from"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        constraints = [
            models.CheckConstraint(
                condition=Q(scopes__contained_by=[s.value for s in Scope]), name="api_key_known_scopes"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client.name}: {self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class OutboxEvent(models.Model):
    """An event written in the same transaction as the change it describes.

    The relay (okto88.services.outbox_relay) publishes unpublished rows in id order after
    commit, at least once, and stamps `published_at` and `position`.
    """

    topic = models.CharField(max_length=100)
    aggregate_type = models.CharField(max_length=60)
    aggregate_id = models.CharField(max_length=64)
    version = models.PositiveIntegerField(default=1)  # the aggregate's version where it has one
    # The version of the topic's payload shape (okto88.events); null on rows written before
    # the event contract.
    schema_version = models.PositiveSmallIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # The order of publication, from the sequence OUTBOX_POSITION_SEQUENCE, given by the relay
    # (one at a time): a reader that has seen position p has seen every event before it, which
    # ids cannot promise (a transaction that took a smaller id may commit later). The events
    # feed's cursor. Null until published.
    position = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    publish_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], condition=Q(published_at__isnull=True), name="outbox_unpublished"),
            models.Index(fields=["aggregate_type", "aggregate_id", "version"], name="outbox_aggregate"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic} {self.aggregate_type}:{self.aggregate_id}"


class AuditActorKind(models.TextChoices):
    USER = "user", _("Person")
    API_CLIENT = "api_client", _("API client")
    SYSTEM = "system", _("System")


class AuditEntryChanged(Exception):
    """An audit entry was to be changed or deleted: the log is append-only."""


class AuditEntryQuerySet(models.QuerySet):
    # The database refuses too (the trigger of migration 0006); these fail first, with a clear error.
    def update(self, **kwargs):
        raise AuditEntryChanged("Audit entries cannot be changed.")

    def delete(self):
        raise AuditEntryChanged("Audit entries cannot be deleted.")

    # bulk_update goes through update(); _raw_delete is what the deletion collector uses.
    def _raw_delete(self, using):
        raise AuditEntryChanged("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    """One sensitive change, written by okto88.audit.audit_record in the transaction of the change.

    Append-only, enforced by the database: a trigger refuses every UPDATE and DELETE, whoever
    runs it. So there are no foreign keys (a cascade or SET NULL would be an UPDATE or DELETE
    the trigger refuses): the actor, the target and the supplier/workshop are ids and labels as
    they were at the time. `changes` holds before/after of non-secret fields only."""

    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor_kind = models.CharField(_("actor kind"), max_length=12, choices=AuditActorKind.choices)
    actor_user_id = models.BigIntegerField(_("user id"), null=True, blank=True)
    actor_api_client_id = models.BigIntegerField(_("API client id"), null=True, blank=True)
    actor_label = models.CharField(_("actor"), max_length=200)
    action = models.CharField(_("action"), max_length=64)
    target_type = models.CharField(_("target type"), max_length=60, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_label = models.CharField(_("target"), max_length=200, blank=True)
    supplier_id = models.BigIntegerField(_("supplier id"), null=True, blank=True)
    workshop_id = models.BigIntegerField(_("workshop id"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=128, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["supplier_id", "-created_at"], name="audit_supplier_time",
                         condition=Q(supplier_id__isnull=False)),
            models.Index(fields=["action", "-created_at"], name="audit_action_time"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        # Without the actor: the supplier admin shows entries to suppliers, who are not told operators' names.
        return f"{self.action} {self.target_type}:{self.target_id}".strip(" :")

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditEntryChanged("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEntryChanged("Audit entries cannot be deleted.")
