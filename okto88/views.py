from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.shortcuts import render

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


