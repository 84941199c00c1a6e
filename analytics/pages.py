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
    figures: Callable[..., list[Figure]]  # figures(period=Period) -> list[Figure]


SECTIONS: tuple[Section, ...] = (
    Section("workflow", _("Workflow"), workflow_figures),
    Section("integrations", _("Integrations"), integrations_figures),
    Section("load", _("Load"), load_figures),
    Section("business", _("Business"), business_figures),
)


def section_get(slug: str) -> Section | None:
    return next((section for section in SECTIONS if section.slug == slug), None)


def section_figures(section: Section, *, period: Period) -> list[Figure]:
    return section.figures(period=period)
