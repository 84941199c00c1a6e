from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from okto88 import login_lockout
from okto88.api.problems import is_api_request, problem_response
from okto88.request_guard import too_large_response


def home(request):
    return render(request, "home.html")


def bad_request(request, exception=None):
    # Django answers a multipart body whose fields pass DATA_UPLOAD_MAX_MEMORY_SIZE (read outside
    # the API's views) as a SuspiciousOperation, 400; it is a size, and the reader should know it.
    if isinstance(exception, RequestDataTooBig):
        return too_large_response(request)
    if is_api_request(request):
        return problem_response(request, status_code=400, code="bad_request", detail="The request is malformed.")
    return render(request, "errors/400.html", status=400)


def permission_denied(request, exception=None):
    if is_api_request(request):
        return problem_response(request, status_code=403, code="permission_denied",
                                detail="You do not have permission to do this.")
    return render(request, "errors/403.html", status=403)


def page_not_found(request, exception=None):
    if is_api_request(request):
        return problem_response(request, status_code=404, code="not_found", detail="No such resource.")
    return render(request, "errors/404.html", status=404)


def api_not_found(request, *args, **kwargs):
    """Every /api/ path no API view matched (an unknown path, a non-integer id): a 404
    problem, with DEBUG on too, where Django would answer its HTML page."""
    return problem_response(request, status_code=404, code="not_found",
                            detail="No such resource; the API's paths are listed in /api/v1/schema/.")


def server_error(request):
    if is_api_request(request):
        return problem_response(request, status_code=500, code="server_error",
                                detail="Something went wrong on our side; the request id helps us find it.")
    return render(request, "errors/500.html", status=500)


def csrf_failure(request, reason=""):
    if is_api_request(request):
        return problem_response(request, status_code=403, code="csrf_failed",
                                detail="CSRF verification failed; send the CSRF token with session requests.")
    return render(request, "errors/403.html", {"reason": reason}, status=403)




def too_many_attempts(request, *, wait_seconds: float):
    """429 for a locked login or a password reset past its bound: how long to wait, nothing more
    (not which bound, nor whether the account exists)."""
    response = render(request, "registration/too_many_attempts.html",
                      {"wait_minutes": login_lockout.wait_minutes(wait_seconds),
                       "login_url": request.path if request.path.endswith("/login/") else reverse("login")},
                      status=429)
    response["Retry-After"] = str(int(wait_seconds) or 1)
    return response


def login_locked_out(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the answer to a login refused for a lockout, on every login form."""
    return too_many_attempts(request, wait_seconds=login_lockout.lockout_wait_seconds(request))


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, bounded per e-mail address and per client address: past a bound
    the 429 page and no mail, known address or not."""

    def form_valid(self, form):
        wait = login_lockout.password_reset_request_wait(request=self.request, email=form.cleaned_data["email"])
        if wait:
            return too_many_attempts(self.request, wait_seconds=wait)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset link, with the links that fail to check bounded per client address."""

    def dispatch(self, *args, **kwargs):
        wait = login_lockout.password_reset_link_wait(self.request)
        if wait:
            return too_many_attempts(self.request, wait_seconds=wait)
        response = super().dispatch(*args, **kwargs)
        # A good token redirects to the set-password form; the "no longer valid" page is a failure.
        if not self.validlink and not isinstance(response, HttpResponseRedirect):
            login_lockout.password_reset_link_failure_count(self.request)
        return response

    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever set the new password holds the mailbox: the account's lock ends with it.
        login_lockout.account_failures_clear(username=self.user.get_username())
        return response
