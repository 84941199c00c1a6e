"""The suppliers' read-model checks (suppliers.read_models) and `manage.py check_read_models`:
exact after the services write, each kind of corruption is found, and the command says so in
its output and its exit status (called in the process, and run as `manage.py`)."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from suppliers import services
from suppliers.models import PartBestOffer, Stock
from suppliers.read_models import part_best_offer_check, read_models_check, stock_ledger_check
from tests.catalog.factories import PartFactory
from tests.celery_worker import database_url
from tests.suppliers.factories import OfferFactory, StockFactory

pytestmark = pytest.mark.django_db

# Every read model the command checks, in its order: the catalog's four and the suppliers' two, then analytics' two.
READ_MODELS = ["facet counts per variant", "the parts' categories on fitment", "search documents of parts",
               "search texts of parts",
               "best offers of parts", "stock against its ledger", "sales figures per day", "order funnel per hour"]


@pytest.fixture
def offers():
    part, other = PartFactory(), PartFactory()
    cheap = StockFactory(offer=OfferFactory(part=part, price=90_000), on_hand=3)
    dear = StockFactory(offer=OfferFactory(part=part, price=120_000), on_hand=5, reserved=1)
    return part, other, cheap, dear


def test_what_the_services_wrote_is_exact(offers):
    part, other, cheap, _dear = offers
    services.stock_reserve(lines=[(cheap.pk, 1)], reference="order")
    checks = read_models_check()
    assert [check.name.split(" (")[0] for check in checks] == [
        "facet counts per variant", "the parts' categories on fitment", "search documents of parts",
        "search texts of parts", "best offers of parts", "stock against its ledger"]
    assert all(check.ok for check in checks), [str(check) for check in checks]
    assert (part_best_offer_check().rows, stock_ledger_check().rows) == (1, 2)
    # A part whose offers all went: its emptied row means "no offer", as no row does.
    services.offer_bulk_set_active(supplier=None, offer_ids=list(part.offers.values_list("pk", flat=True)),
                                   active=False)
    assert PartBestOffer.objects.get(part=part).supplier_count == 0
    assert part_best_offer_check().ok and part_best_offer_check().rows == 0
    assert not PartBestOffer.objects.filter(part=other).exists()


def test_a_wrong_missing_or_extra_best_offer_is_found(offers):
    part, other, cheap, dear = offers
    PartBestOffer.objects.filter(part=part).update(offer_id=dear.offer_id, price=120_000)
    check = part_best_offer_check()
    assert (check.ok, check.differing, check.missing, check.extra) == (False, 1, 0, 0)
    assert check.examples[0].stored == {"offer_id": dear.offer_id, "price": 120_000}
    assert check.examples[0].expected == {"offer_id": cheap.offer_id, "price": 90_000}

    PartBestOffer.objects.filter(part=part).delete()
    PartBestOffer.objects.create(part=other, offer_id=cheap.offer_id, supplier_id=cheap.offer.supplier_id,
                                 price=90_000, lead_time_days=2, available=3, total_available=3, supplier_count=1)
    check = part_best_offer_check()
    assert (check.differing, check.missing, check.extra) == (0, 1, 1)
    assert [(e.kind, e.key) for e in check.examples] == [("missing", {"part_id": part.pk}),
                                                         ("extra", {"part_id": other.pk})]
    assert check.examples[0].expected["supplier_count"] == 2 and check.examples[0].expected["total_available"] == 7


def test_stock_that_disagrees_with_its_ledger_is_found(offers):
    _part, _other, cheap, dear = offers
    Stock.objects.filter(pk=cheap.pk).update(on_hand=4)  # no ledger row
    Stock.objects.filter(pk=dear.pk).update(on_hand=0, reserved=0)
    check = stock_ledger_check()
    assert (check.differing, check.missing, check.extra) == (1, 1, 0)
    assert {(e.kind, e.key["id"]) for e in check.examples} == {("differs", cheap.pk), ("missing", dear.pk)}


def test_the_command_prints_one_line_per_read_model_and_exits_0_when_all_are_exact(offers):
    out = StringIO()
    call_command("check_read_models", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == READ_MODELS
    assert all(": OK (" in line for line in lines)
    assert "best offers of parts (suppliers_partbestoffer): OK (1 rows)" in lines


def test_the_command_shows_the_differences_and_exits_1(offers):
    part, _other, _cheap, _dear = offers
    PartBestOffer.objects.filter(part=part).update(total_available=99)
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("check_read_models", stdout=out)
    assert raised.value.returncode == 1
    assert f"1 of {len(READ_MODELS)} read models differ: best offers of parts" in str(raised.value)
    lines = out.getvalue().splitlines()
    best = next(line for line in lines if line.startswith("best offers of parts"))
    assert "1 differences (1 differing) of 1 rows" in best
    assert f"differs part_id={part.pk}: stored {{total_available: 99}}, expected {{total_available: 7}}" in best
    assert sum(": OK (" in line for line in lines) == len(READ_MODELS) - 1


@pytest.mark.django_db(transaction=True)
def test_manage_py_check_read_models_exits_1_with_the_differences_then_0_once_rebuilt():
    part = StockFactory(offer=OfferFactory(price=90_000), on_hand=2).offer.part
    PartBestOffer.objects.filter(part=part).update(price=1)
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict), "REDIS_URL": settings.REDIS_URL}

    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", "check_read_models"], env=env, cwd=settings.BASE_DIR,
                              capture_output=True, text=True, timeout=120)

    found = run()
    assert found.returncode == 1, found.stderr
    assert (f"best offers of parts (suppliers_partbestoffer): 1 differences (1 differing) of 1 rows; "
            f"e.g. differs part_id={part.pk}: stored {{price: 1}}, expected {{price: 90000}}") in found.stdout
    assert f"1 of {len(READ_MODELS)} read models differ" in found.stderr
    with transaction.atomic():
        services.part_best_offer_rebuild()
    mended = run()
    assert mended.returncode == 0, mended.stdout + mended.stderr
    assert mended.stdout.count(": OK (") == len(READ_MODELS)
