"""The operations view in the browser (/ops/), for operators only.

Each page renders figures (analytics.figures) built by the selectors; `?csv=<figure key>` on
any page answers that figure's table as a CSV file instead. A bad period or parameter is said
on the page, with status 400.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from analytics.figure_export import figure_csv_response, period_slug
from analytics.models import SecurityAlertStatus, SecurityDetector
from analytics.pages import SECTIONS, InvalidSectionParam, section_figures, section_get, section_params
from analytics.periods import DEFAULT_PRESET, JAKARTA, PRESETS, InvalidPeriod, period_parse
from analytics.selectors.dashboard import dashboard_headlines
from analytics.selectors.redrive import order_for_redrive
from analytics.selectors.security import security_alert_get, security_alerts_list
from analytics.selectors.security_traffic import client_traffic_figure
from analytics.selectors.workflow import order_timeline_figures, stalled_orders_figure
from analytics.services.security_alerts import security_alert_acknowledge as service_security_alert_acknowledge
from analytics.services.security_alerts import security_alert_mute as service_security_alert_mute
from okto88.errors import ApplicationError, error_message
from okto88.models import Role
from orders.workflow import order_redrive as workflow_order_redrive

# The stalled orders page lists at most this many (oldest first); the API pages through them.
STALLED_LIMIT = 200


def operator_required(view):
    """Anonymous → the login page; signed in but not an operator → 403."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if request.user.role != Role.OPERATOR:
            raise PermissionDenied(_("The operations view is for okto88 operators."))
        return view(request, *args, **kwargs)

    return wrapper


def _now_text() -> str:
    return f"{timezone.now().astimezone(JAKARTA):%Y%m%d-%H%M}"


@require_GET
@operator_required
def dashboard(request):
    stalled = stalled_orders_figure(limit=STALLED_LIMIT)
    headlines = dashboard_headlines(stalled_count=len(stalled.rows), stalled_limit=STALLED_LIMIT)
    if "csv" in request.GET:
        return figure_csv_response([headlines], request.GET["csv"], section="dashboard", period_text=_now_text())
    return render(request, "analytics/dashboard.html", {"sections": SECTIONS, "headlines": headlines})


def _period_choices(request, period) -> list[dict]:
    choices = []
    for name, (_length, _bucket, label) in PRESETS.items():
        query = request.GET.copy()
        for dropped in ("start", "end", "csv"):
            query.pop(dropped, None)
        query["period"] = name
        active = period is not None and period.name == name
        choices.append({"name": name, "label": label, "url": f"{request.path}?{query.urlencode()}", "active": active})
    return choices


@require_GET
@operator_required
def section_page(request, section: str):
    current = section_get(section)
    if current is None:
        raise Http404(f"No section {section!r}.")
    period, figures, error = None, [], ""
    try:
        period = period_parse(request.GET)
        params = section_params(current, request.GET)
    except (InvalidPeriod, InvalidSectionParam) as exc:
        error = str(exc)
    else:
        figures = section_figures(current, period=period, params=params)
        if "csv" in request.GET:
            return figure_csv_response(figures, request.GET["csv"], section=current.slug,
                                       period_text=period_slug(period))
    context = {
        "section": current, "sections": SECTIONS, "period": period, "figures": figures, "error": error,
        "period_choices": _period_choices(request, period),
        "start": request.GET.get("start", "")[:10], "end": request.GET.get("end", "")[:10],
        "params": {name: request.GET.get(name, "")[:200] for name in current.params},
        "default_preset": DEFAULT_PRESET,
    }
    return render(request, "analytics/section.html", context, status=400 if error else 200)


@require_GET
@operator_required
def stalled(request):
    figure = stalled_orders_figure(limit=STALLED_LIMIT)
    if "csv" in request.GET:
        return figure_csv_response([figure], request.GET["csv"], section="stalled", period_text=_now_text())
    return render(request, "analytics/stalled.html", {"figure": figure, "limit": STALLED_LIMIT,
                                                      "at_limit": len(figure.rows) >= STALLED_LIMIT,
                                                      "sections": SECTIONS})


@require_GET
@operator_required
def order_timeline(request, number: str):
    figures = order_timeline_figures(order_number=number)
    if figures is None:
        raise Http404(f"No order {number!r}.")
    if "csv" in request.GET:
        return figure_csv_response(figures, request.GET["csv"], section=f"order-{number}", period_text=_now_text())
    return render(request, "analytics/order_timeline.html", {"number": number, "figures": figures,
                                                             "sections": SECTIONS})


@require_POST
@operator_required
def order_redrive(request, number: str):
    order = order_for_redrive(number=number)
    if order is None:
        raise Http404(f"No order {number!r}.")
    try:
        redriven = workflow_order_redrive(order=order, force=True, actor=request.user)
    except ApplicationError as exc:  # the workflow refuses an order it cannot move on, and says why
        messages.error(request, error_message(exc, staff=True))
        return redirect(reverse("analytics:stalled"))
    if redriven:
        messages.success(request, _("Order %(number)s was re-driven: its workflow runs again from its first "
                                    "unfinished step.") % {"number": order.number})
    else:
        messages.info(request, _("Order %(number)s has no step left to run; nothing was changed.")
                      % {"number": order.number})
    return redirect(reverse("analytics:stalled"))


# --- Security alerts (/ops/security/) --------------------------------------------------------

SECURITY_PAGE_SIZE = 50
# The mutes the page offers (hours → label); the service takes any 1..720 hours.
SECURITY_MUTE_CHOICES = {24: gettext_lazy("24 hours"), 168: gettext_lazy("7 days")}
SECURITY_FILTERS = {"status": SecurityAlertStatus, "detector": SecurityDetector}


def _security_filters(values) -> dict[str, str]:
    """The page's filters present in `values` (GET or the POSTed return filters) with a known
    value; unknown values are dropped (the caller says so on a GET), as is the page number's junk."""
    chosen = {name: values.get(name, "") for name in SECURITY_FILTERS}
    chosen = {name: value for name, value in chosen.items() if value in SECURITY_FILTERS[name].values}
    page = values.get("page", "")
    if page.isascii() and page.isdigit() and len(page) <= 6:
        chosen["page"] = page
    return chosen


def _security_url(filters: dict[str, str]) -> str:
    url = reverse("analytics:security")
    return f"{url}?{urlencode(filters)}" if filters else url


@require_GET
@operator_required
def security_alerts(request):
    filters = _security_filters(request.GET)
    bad = [name for name in SECURITY_FILTERS if request.GET.get(name) and name not in filters]
    error = (_("Unknown filter value for: %(names)s. Showing every alert.") % {"names": ", ".join(bad)}
             if bad else "")
    alerts = security_alerts_list(status=filters.get("status", ""), detector=filters.get("detector", ""))
    page = Paginator(alerts, SECURITY_PAGE_SIZE).get_page(filters.get("page"))
    return render(request, "analytics/security.html", {
        "sections": SECTIONS, "page": page, "filters": filters, "error": error,
        "statuses": SecurityAlertStatus.choices, "detectors": SecurityDetector.choices,
        "mute_choices": list(SECURITY_MUTE_CHOICES.items()),
        "traffic_figure": client_traffic_figure(), "no_traffic": _("No client traffic this hour yet."),
    }, status=400 if error else 200)


def _security_alert_or_404(alert_id: int):
    alert = security_alert_get(alert_id=alert_id)
    if alert is None:
        raise Http404(f"No security alert {alert_id}.")
    return alert


@require_POST
@operator_required
def security_alert_acknowledge(request, alert_id: int):
    alert = _security_alert_or_404(alert_id)
    service_security_alert_acknowledge(alert=alert, user=request.user)
    messages.success(request, _("Alert %(id)d is acknowledged: the next detection opens a new alert.")
                     % {"id": alert.pk})
    return redirect(_security_url(_security_filters(request.POST)))


@require_POST
@operator_required
def security_alert_mute(request, alert_id: int):
    alert = _security_alert_or_404(alert_id)
    raw = request.POST.get("hours", "")
    hours = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else None
    if hours not in SECURITY_MUTE_CHOICES:
        messages.error(request, _("Choose how long to mute the alert: %(choices)s.")
                       % {"choices": ", ".join(str(label) for label in SECURITY_MUTE_CHOICES.values())})
    else:
        muted = service_security_alert_mute(alert=alert, user=request.user, hours=hours)
        messages.success(request, _("Alert %(id)d is muted for %(length)s: detections of %(ident)s by this "
                                    "detector are counted on it and tell nobody until then.")
                         % {"id": muted.pk, "length": SECURITY_MUTE_CHOICES[hours], "ident": muted.ident})
    return redirect(_security_url(_security_filters(request.POST)))
