"""The operations view's sections: one registry that the pages, the API and the CSV export share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from analytics.figures import Figure
from analytics.periods import Period
from analytics.selectors.business import business_figures
from analytics.selectors.integrations import integrations_figures
from analytics.selectors.load import load_figures
from analytics.selectors.workflow import workflow_figures


@dataclass(frozen=True)
class Section:
    slug: str  # /ops/<slug>/ and /api/v1/ops/<slug>/
    title: str
    figures: Callable[..., list[Figure]]  # figures(period=Period, **params) -> list[Figure]
    # Query parameters the section's figures take besides the period (the load page's route),
    # passed on as keyword arguments when the request gives them.
    params: tuple[str, ...] = ()


SECTIONS: tuple[Section, ...] = (
    Section("workflow", _("Workflow"), workflow_figures),
    Section("integrations", _("Integrations"), integrations_figures),
    Section("load", _("Load"), load_figures, params=("route",)),
    Section("business", _("Business"), business_figures),
)


def section_get(slug: str) -> Section | None:
    return next((section for section in SECTIONS if section.slug == slug), None)


# A parameter's value longer than this is refused (a route is far shorter).
PARAM_MAX_LENGTH = 200


class InvalidSectionParam(ValueError):
    code = "invalid_parameter"


def section_params(section: Section, query) -> dict[str, str]:
    """The section's own parameters present (and not empty) in `query`; raises InvalidSectionParam."""
    params = {}
    for name in section.params:
        value = (query.get(name) or "").strip()
        if len(value) > PARAM_MAX_LENGTH:
            raise InvalidSectionParam(_("%(name)s is at most %(length)d characters.")
                                      % {"name": name, "length": PARAM_MAX_LENGTH})
        if value:
            params[name] = value
    return params


def section_figures(section: Section, *, period: Period, params: dict[str, str] | None = None) -> list[Figure]:
    return section.figures(period=period, **(params or {}))
