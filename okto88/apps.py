from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """The platform pieces every app shares: users, API clients, the outbox."""

    name = "okto88"
    label = "platform"
    verbose_name = "Platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the app registry is ready (Django's rule for ready()), not when it loads.
        from okto88 import checks, metrics  # noqa: F401 (checks: registered on import)
        from okto88.request_id import install_log_record_factory

        install_log_record_factory()
        metrics.register_task_metrics_collector()
