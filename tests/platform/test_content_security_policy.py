"""The Content-Security-Policy header on every page (django-csp, okto88/settings.py), and no
template of ours that the policy would break: no inline script or style, no style attribute, no
on…= handler, no hx-on (docs/security.md, "Transport and exposure")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from tests.platform.factories import OperatorFactory

pytestmark = pytest.mark.django_db

EXPECTED = {
    "default-src": "'self'", "img-src": "'self' data:", "object-src": "'none'", "base-uri": "'self'",
    "form-action": "'self'", "frame-ancestors": "'none'",
}


def policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {name: value.strip() for name, _, value in (d.strip().partition(" ") for d in header.split(";"))}


def assert_strict(response, where: str) -> None:
    directives = policy(response)
    for name, value in EXPECTED.items():
        assert directives[name] == value, (where, name, directives)
    for name in ("script-src", "style-src"):
        assert directives[name].startswith("'self'"), (where, directives)
        assert "unsafe" not in directives[name] and "*" not in directives[name], (where, directives)


def test_a_page_and_its_nonce_match():
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    middleware = CSPMiddleware(lambda r: None)
    middleware.process_request(request)
    html = Template('<script nonce="{{ request.csp_nonce }}">1</script>').render(Context({"request": request}))
    response = middleware.process_response(request, HttpResponse(html))
    nonce = re.search(r'nonce="([^"]+)"', html).group(1)
    assert f"'nonce-{nonce}'" in policy(response)["script-src"]


def simple_paths(patterns, prefix: str = "") -> list[str]:
    """Every URL without a parameter (admin and API included)."""
    paths = []
    for pattern in patterns:
        route = str(pattern.pattern).lstrip("^").rstrip("$")
        if "<" in route or re.search(r"[()\[\]*+?\\|]", route):  # a parameter, or a regex
            continue
        if isinstance(pattern, URLResolver):
            paths += simple_paths(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            paths.append("/" + prefix + route)
    return sorted(set(paths))


def test_every_html_response_carries_the_policy(client):
    """Each page without a parameter, as an operator (who may see the most): every HTML answer has the header."""
    client.force_login(OperatorFactory())
    paths = simple_paths(get_resolver().url_patterns)
    assert "/" in paths and "/admin/" in paths and "/ops/" in paths and "/api/v1/docs/" in paths
    html_pages = 0
    for path in paths:
        if path.endswith(("logout/", "/metrics")):
            continue
        response = client.get(path, REMOTE_ADDR="127.0.0.1")
        if response.headers.get("Content-Type", "").startswith("text/html"):
            html_pages += 1
            assert "Content-Security-Policy" in response.headers, path
            assert_strict(response, path)
    assert html_pages > 30


def test_error_pages_carry_the_policy_too(client):
    assert_strict(client.get("/no-such-page/"), "404")
    assert_strict(client.get("/api/v1/no-such-endpoint/"), "API 404")


def test_the_api_docs_need_no_cdn_and_no_inline_script(client):
    page = client.get("/api/v1/docs/")
    html = page.content.decode()
    assert page.status_code == 200 and "cdn." not in html and "<script>" not in html and "<style" not in html
    assert f"{settings.STATIC_URL}drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema/" in script.content.decode()


# What the policy refuses in markup: a <script> without src (JSON data blocks excepted), a <style>
# element, a style="…" attribute, an on…= handler, hx-on, javascript: URLs.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>"
    r"|<style\b|\sstyle=[\"']|\son[a-z]+=[\"']|\shx-on|javascript:", re.IGNORECASE)
TEMPLATE_DIRS = [settings.BASE_DIR / "templates",
                 *(settings.BASE_DIR / app / "templates" for app in settings.PROJECT_APPS)]


def inline_uses(text: str) -> list[str]:
    text = re.sub(r"{#.*?#}|{% comment %}.*?{% endcomment %}", "", text, flags=re.S)
    return [match.group(0).strip() for match in INLINE.finditer(text)]


def test_the_checker_finds_what_the_policy_refuses():
    assert inline_uses('<script>alert(1)</script><b style="x">') == ["<script>", 'style="']
    assert inline_uses('<select onchange="go()"><a hx-on:click="x"><a href="javascript:void(0)">') == [
        'onchange="', "hx-on", "javascript:"]
    assert inline_uses('<script src="/static/a.js" defer></script><script type="application/json">{}</script>'
                       '{# <style> #}<div data-style="x" class="only">') == []


def test_no_template_of_ours_uses_what_the_policy_refuses():
    templates = [path for folder in TEMPLATE_DIRS if folder.exists() for path in folder.rglob("*.html")]
    assert len(templates) > 40
    found = {str(path.relative_to(settings.BASE_DIR)): uses for path in templates
             if (uses := inline_uses(path.read_text()))}
    assert found == {}


def test_no_python_of_ours_renders_a_style_attribute_or_inline_script():
    sources = [path for app in ("okto88", *settings.PROJECT_APPS) for path in (settings.BASE_DIR / app).rglob("*.py")
               if "migrations" not in path.parts]
    markup = re.compile(r"<[a-z][^>]*\sstyle=|<[a-z][^>]*\son[a-z]+=|<script>|<style", re.IGNORECASE)
    found = [str(Path(path).relative_to(settings.BASE_DIR)) for path in sources if markup.search(path.read_text())]
    assert found == []


def _both_headers(make_response, *, nonce: bool = False, path: str = "/") -> tuple[dict, dict]:
    """The headers django-csp's middleware and ours (okto88.content_security_policy) set on the same response."""
    from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
    from django.test import RequestFactory

    from okto88.content_security_policy import CSPMiddleware

    headers = []
    for middleware_class in (DjangoCSPMiddleware, CSPMiddleware):
        request = RequestFactory().get(path)
        middleware = middleware_class(lambda r: None)
        middleware.process_request(request)
        if nonce:
            str(request.csp_nonce)
            request._csp_nonce = "fixed-nonce"  # the same in both
        response = middleware.process_response(request, make_response())
        headers.append({k: v for k, v in response.headers.items() if "Content-Security-Policy" in k})
    return headers[0], headers[1]


def test_the_policy_built_once_is_django_csps():
    """okto88.content_security_policy keeps the settings' header text between responses: the same text as
    django-csp's for a plain response, a nonce, a view's own update, replace and exemption, the report-only
    policy, an excluded prefix, and after the settings change."""
    from csp.constants import NONE
    from django.http import HttpResponse
    from django.test import override_settings

    def plain():
        return HttpResponse("x")

    def updated():
        response = HttpResponse("x")
        response._csp_update = {"img-src": ["https://img.example"]}
        return response

    def replaced():
        response = HttpResponse("x")
        response._csp_replace = {"script-src": [NONE]}
        return response

    def exempt():
        response = HttpResponse("x")
        response._csp_exempt = True
        return response

    def preset():
        response = HttpResponse("x")
        response["Content-Security-Policy"] = "default-src 'none'"
        return response

    cases = [(plain, {}), (updated, {}), (replaced, {}), (exempt, {}), (preset, {}), (plain, {"nonce": True})]
    for make_response, options in cases:
        expected, ours = _both_headers(make_response, **options)
        assert ours == expected, (make_response.__name__, options)
    assert "'nonce-fixed-nonce'" in _both_headers(plain, nonce=True)[1]["Content-Security-Policy"]
    assert "https://img.example" in _both_headers(updated)[1]["Content-Security-Policy"]

    changed = {"DIRECTIVES": {"default-src": ["'none'"]}, "EXCLUDE_URL_PREFIXES": ["/skip/"]}
    report_only = {"DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/csp-report/"}}
    with override_settings(CONTENT_SECURITY_POLICY=changed, CONTENT_SECURITY_POLICY_REPORT_ONLY=report_only):
        for path in ("/", "/skip/this"):
            expected, ours = _both_headers(plain, path=path)
            assert ours == expected, path
        assert _both_headers(plain)[1] == {"Content-Security-Policy": "default-src 'none'",
                                           "Content-Security-Policy-Report-Only":
                                               "default-src 'self'; report-uri /csp-report/"}
        assert "Content-Security-Policy" not in _both_headers(plain, path="/skip/this")[1]
    expected, ours = _both_headers(plain)
    assert ours == expected and "'none'" not in ours["Content-Security-Policy"].split("default-src")[1][:8]


def test_a_nonce_asked_for_after_the_header_is_an_error():
    from csp.exceptions import CSPNonceError
    from django.http import HttpResponse
    from django.test import RequestFactory

    from okto88.content_security_policy import CSPMiddleware

    request = RequestFactory().get("/")
    middleware = CSPMiddleware(lambda r: None)
    middleware.process_request(request)
    middleware.process_response(request, HttpResponse("x"))
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)


def test_the_project_serves_through_the_cached_policy(client):
    assert "okto88.content_security_policy.CSPMiddleware" in settings.MIDDLEWARE
    assert "csp.middleware.CSPMiddleware" not in settings.MIDDLEWARE
    assert_strict(client.get("/healthz"), "/healthz")
