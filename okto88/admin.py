from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from okto88 import services
from okto88.errors import ApplicationError, error_message
from okto88.models import ApiClient, ApiKey, AuditEntry, OutboxEvent, Scope, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "role_display", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "phone", "preferred_language")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    @admin.display(description=_("role"))
    def role_display(self, obj: User) -> str:
        return obj.role.label


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    fields = ["name", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at", "last_used_ip"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "contact_email", "is_active", "rate_limit", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "contact_email"]
    inlines = [ApiKeyInline]


class ApiKeyIssueForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ["client", "name", "scopes", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Operators issue keys here. The key is shown once, in the confirmation message."""

    list_display = ["name", "client", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at",
                    "last_used_ip"]
    list_filter = ["client", "revoked_at", ("expires_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "client__name"]
    actions = ["revoke_selected", "rotate_selected"]
    readonly_fields = ["prefix", "created_at", "revoked_at", "last_used_at", "last_used_ip"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyIssueForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # a key's secret and scopes are fixed once issued: issue a new one
            return ["client", "name", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at",
                    "last_used_ip"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        issued = services.api_key_issue(
            client=form.cleaned_data["client"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"),
            actor=request.user,
        )
        obj.pk = issued.api_key.pk
        messages.warning(
            request,
            _("Copy this key now; it will not be shown again: %(key)s") % {"key": issued.raw_key},
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead, so the audit trail stays

    @admin.action(description=_("Revoke the selected keys"))
    def revoke_selected(self, request, queryset) -> None:
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key, actor=request.user)
        self.message_user(request, _("%(count)d key(s) revoked.") % {"count": queryset.count()}, messages.SUCCESS)

    @admin.action(description=_("Rotate the selected keys (the old key keeps working for the overlap)"))
    def rotate_selected(self, request, queryset) -> None:
        """Each key gets a successor with the same client, name and scopes, shown here once; the
        old key expires after API_KEY_ROTATION_OVERLAP_HOURS."""
        for api_key in queryset.select_related("client").order_by("pk"):
            try:
                rotated = services.api_key_rotate(
                    api_key=api_key, overlap_hours=settings.API_KEY_ROTATION_OVERLAP_HOURS, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{api_key}: {error_message(exc, staff=True)}", messages.ERROR)
                continue
            messages.warning(request, _(
                "%(old)s rotated; the old key stops working at %(expires)s. Copy the new key now; it will not be "
                "shown again: %(key)s") % {"old": api_key, "expires": rotated.previous.expires_at,
                                           "key": rotated.issued.raw_key})


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ["id", "topic", "aggregate_type", "aggregate_id", "version", "created_at", "published_at"]
    list_filter = ["topic", ("published_at", admin.EmptyFieldListFilter)]
    search_fields = ["aggregate_id", "request_id"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log for operators: everything, read-only (the database refuses changes anyway).
    A click on an actor, a target or a supplier id filters the list by it."""

    list_display = ["created_at", "action", "actor_link", "target_link", "supplier_link", "workshop_id", "ip_address"]
    list_filter = ["action", "actor_kind", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["actor_label", "target_id", "target_label", "request_id", "ip_address"]
    fields = ["created_at", "action", "actor_kind", "actor_label", "actor_user_id", "actor_api_client_id",
              "target_type", "target_id", "target_label", "supplier_id", "workshop_id", "ip_address", "request_id",
              "changes_display"]
    readonly_fields = fields
    show_full_result_count = False
    list_per_page = 50

    @admin.display(description=_("actor"), ordering="actor_label")
    def actor_link(self, obj: AuditEntry) -> str:
        return format_html('<a href="?actor_label={}">{}</a>', obj.actor_label, obj.actor_label)

    @admin.display(description=_("target"))
    def target_link(self, obj: AuditEntry) -> str:
        if not obj.target_type:
            return "-"
        return format_html('<a href="?target_type={}&target_id={}">{} {}</a>', obj.target_type, obj.target_id,
                           obj.target_type, obj.target_label or obj.target_id)

    @admin.display(description=_("supplier id"), ordering="supplier_id")
    def supplier_link(self, obj: AuditEntry) -> str:
        if obj.supplier_id is None:
            return "-"
        return format_html('<a href="?supplier_id={}">{}</a>', obj.supplier_id, obj.supplier_id)

    @admin.display(description=_("changes"))
    def changes_display(self, obj: AuditEntry) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.changes, indent=2, ensure_ascii=False, sort_keys=True))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
