from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Analytics")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the app registry is ready (Django's rule for ready()), not when it loads.
        from analytics.metrics import metrics_register

        metrics_register()

        from axes.signals import user_locked_out

        from analytics.tasks import login_lockout_alert

        user_locked_out.connect(login_lockout_alert, dispatch_uid="analytics.login_lockout_alert")
