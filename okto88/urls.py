from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from okto88 import health, metrics, views

handler400 = "okto88.views.bad_request"
handler403 = "okto88.views.permission_denied"
handler404 = "okto88.views.page_not_found"
handler500 = "okto88.views.server_error"

admin.site.site_header = "okto88"
admin.site.site_title = "okto88 admin"
admin.site.index_title = "okto88"

urlpatterns = [
    # Browsers and the admin ask for /favicon.ico whatever the page declares.
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    # Django's password reset, bounded (okto88.login_lockout); the rest as Django has it.
    path("accounts/password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("okto88.api.urls")),
]

for app_label in settings.PROJECT_APPS:
    try:
        __import__(f"{app_label}.urls")
    except ModuleNotFoundError as exc:
        if exc.name != f"{app_label}.urls":
            raise
        continue
    urlpatterns.append(path("", include(f"{app_label}.urls")))

# Last: under /api/ whatever no API view matched is a problem+json 404, DEBUG or not.
urlpatterns.append(re_path(r"^api/", views.api_not_found))

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
