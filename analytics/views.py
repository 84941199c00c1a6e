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
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from analytics.figure_export import figure_csv_response, period_slug
from analytics.pages import SECTIONS, InvalidSectionParam, section_figures, section_get, section_params
from analytics.periods import DEFAULT_PRESET, JAKARTA, PRESETS, InvalidPeriod, period_parse
from analytics.selectors.dashboard import dashboard_headlines
from analytics.selectors.redrive import order_for_redrive
from analytics.selectors.workflow import order_timeline_figures, stalled_orders_figure
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
