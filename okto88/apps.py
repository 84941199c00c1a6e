from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """The platform pieces every app shares: users, API clients, the outbox."""

    name = "okto88"
    label = "platform"
    verbose_name = "Platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the app registry is ready (Django's rule for ready()), not when it loads.
        from django.contrib.auth.signals import user_logged_in

        from okto88 import checks, metrics  # noqa: F401 (checks: registered on import)
        from okto88.audit import audit_login_record
        from okto88.request_id import install_log_record_factory

        install_log_record_factory()
        metrics.register_task_metrics_collector()
        # A cross-cutting record, not business flow: the one signal the audit log listens to.
        user_logged_in.connect(audit_login_record, dispatch_uid="platform.audit_login_record")
