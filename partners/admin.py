"""Operators' admin of partners' webhook endpoints and their delivery log (the default admin site:
staff only; the supplier admin does not show them). Partners manage their own endpoints through
the API; here operators watch, disable and enable them, send a test message, rotate a secret
(shown once, in the confirmation message) and replay deliveries. Every write goes through
partners.services; the rows themselves are read-only here, and secrets are never displayed."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from okto88.errors import ApplicationError, error_message
from partners import services
from partners.models import EndpointDisabledReason, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret
from partners.selectors import EndpointState, webhook_endpoint_state

STATE_LABELS = {
    EndpointState.ACTIVE: _("Active"),
    EndpointState.PAUSED: _("Paused by its owner"),
    EndpointState.DISABLED: _("Disabled"),
}


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class WebhookSecretInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookSecret
    extra = 0
    fields = ["created_at", "expires_at"]  # never the secret itself
    readonly_fields = fields
    verbose_name_plural = _("signing secrets (values are never shown)")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "api_client", "url", "state_display", "failing_since", "disabled_at", "created_at"]
    list_filter = ["is_active", "disabled_reason", ("disabled_at", admin.EmptyFieldListFilter)]
    search_fields = ["url", "api_client__name", "description"]
    list_select_related = ["api_client"]
    fields = ["api_client", "url", "description", "event_types", "is_active", "disabled_at", "disabled_reason",
              "failing_since", "created_at", "updated_at"]
    readonly_fields = fields
    inlines = [WebhookSecretInline]
    actions = ["disable_selected", "enable_selected", "send_test", "rotate_secret"]

    @admin.display(description=_("state"))
    def state_display(self, obj: WebhookEndpoint) -> str:
        return str(STATE_LABELS[webhook_endpoint_state(endpoint=obj)])

    def _each(self, request, queryset, action, done_message) -> None:
        done = 0
        for endpoint in queryset:
            try:
                action(endpoint)
            except ApplicationError as exc:
                self.message_user(request, f"{endpoint}: {error_message(exc, staff=True)}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Disable the selected endpoints"))
    def disable_selected(self, request, queryset) -> None:
        # The engine's disable: the endpoint's pending deliveries fail (replayable once enabled).
        def disable(endpoint: WebhookEndpoint) -> None:
            services.endpoint_disable(endpoint_id=endpoint.pk, reason=EndpointDisabledReason.OPERATOR)

        self._each(request, queryset, disable, _("%(count)d endpoint(s) disabled."))

    @admin.action(description=_("Enable the selected endpoints (clears the failure record)"))
    def enable_selected(self, request, queryset) -> None:
        self._each(request, queryset, lambda endpoint: services.endpoint_enable(endpoint=endpoint, actor=request.user),
                   _("%(count)d endpoint(s) enabled."))

    @admin.action(description=_("Send a test message"))
    def send_test(self, request, queryset) -> None:
        self._each(request, queryset, lambda endpoint: services.endpoint_test_send(endpoint=endpoint),
                   _("%(count)d test message(s) queued."))

    @admin.action(description=_("Rotate the signing secret"))
    def rotate_secret(self, request, queryset) -> None:
        for endpoint in queryset:
            rotated = services.endpoint_secret_rotate(endpoint=endpoint, actor=request.user)
            messages.warning(request, _("New secret of %(endpoint)s, shown only now: %(secret)s (the old one "
                                        "signs until %(expires)s)") % {
                "endpoint": endpoint, "secret": rotated.secret,
                "expires": rotated.previous_secret_expires_at or "-"})


class WebhookAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = ["number", "started_at", "duration_ms", "outcome", "status_code", "error", "response_excerpt"]
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["message_id", "endpoint", "topic", "status", "attempts", "last_status_code", "next_attempt_at",
                    "created_at"]
    list_filter = ["status", "topic"]
    search_fields = ["message_id", "endpoint__url", "endpoint__api_client__name"]
    list_select_related = ["endpoint__api_client"]
    show_full_result_count = False
    fields = ["message_id", "endpoint", "event", "topic", "test_payload", "status", "attempts", "next_attempt_at",
              "last_status_code", "last_error", "created_at", "updated_at", "succeeded_at"]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = ["replay_selected"]

    @admin.action(description=_("Replay the selected deliveries"))
    def replay_selected(self, request, queryset) -> None:
        done = 0
        for delivery in queryset:
            try:
                services.endpoint_delivery_replay(delivery=delivery)
            except ApplicationError as exc:
                self.message_user(request, f"{delivery.message_id}: {error_message(exc, staff=True)}",
                                  messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, _("%(count)d delivery(ies) queued again.") % {"count": done},
                              messages.SUCCESS)
