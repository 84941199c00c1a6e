"""The cart page's optimiser: the form, the plan with its saving and changes (htmx and plain),
Apply, the lock toggle, and the messages in Indonesian."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders import services
from orders.models import CartLine
from tests.orders.factories import buyer_make, cart_with_a_cheaper_substitute, two_supplier_cart

pytestmark = pytest.mark.django_db


@pytest.fixture
def cart(buyer):
    return two_supplier_cart(buyer=buyer)


def test_optimise_shows_the_saving_and_apply_replaces_the_lines(client, buyer, cart):
    _p1_a, p1_b, p2_b = cart
    client.force_login(buyer.user)
    page = client.get(reverse("orders:cart"))
    assert b"Optimalkan keranjang" in page.content or b"Optimise cart" in page.content
    panel = client.post(reverse("orders:cart_optimise"), {"objective": "total"}, HTTP_HX_REQUEST="true")
    assert panel.status_code == 200
    html = panel.content.decode()
    assert 'data-testid="optimise-saving"' in html and 'data-testid="optimise-apply"' in html
    plan = panel.context["plan"]
    assert plan.saving > 0
    form = {"fingerprint": plan.fingerprint, "plan_line": [f"{pl.offer_id}:{pl.quantity}" for pl in plan.lines]}
    applied = client.post(reverse("orders:cart_optimise_apply"), form, follow=True)
    assert sorted(CartLine.objects.filter(cart__workshop=buyer.workshop).values_list("offer_id", "quantity")) \
        == sorted([(p1_b.pk, 2), (p2_b.pk, 1)])
    assert [m.level_tag for m in applied.context["messages"]] == ["success"]
    # Stale now: refused with a message, nothing changed.
    again = client.post(reverse("orders:cart_optimise_apply"), form, follow=True)
    assert any(m.level_tag == "error" for m in again.context["messages"])


def test_the_page_without_htmx_and_errors_in_indonesian(client, buyer, cart):
    client.force_login(buyer.user)
    page = client.post(reverse("orders:cart_optimise"), {"latest_arrival": "2020-01-01"},
                       HTTP_ACCEPT_LANGUAGE="id")
    assert page.status_code == 200
    assert page.context["optimise_error"]
    assert "optimise-error" in page.content.decode()
    assert page.context["optimise_error"] != str(services.cart_optimise.__doc__)
    bad = client.post(reverse("orders:cart_optimise"), {"latest_arrival": "kemarin"}, HTTP_HX_REQUEST="true")
    assert "kemarin" in bad.context["optimise_error"]


def test_lock_toggle_and_another_workshop(client, buyer, cart):
    p1_a = cart[0]
    line = CartLine.objects.get(cart__workshop=buyer.workshop, offer=p1_a)
    other = buyer_make()
    client.force_login(other.user)
    client.post(reverse("orders:cart_lock"), {"lock": f"{line.pk}:1"})
    line.refresh_from_db()
    assert line.locked is False  # another workshop's line is not found
    client.force_login(buyer.user)
    client.post(reverse("orders:cart_lock"), {"lock": f"{line.pk}:1"})
    line.refresh_from_db()
    assert line.locked is True
    page = client.get(reverse("orders:cart"))
    assert f'data-testid="lock-{line.pk}"'.encode() in page.content and b'aria-pressed="true"' in page.content


def test_every_optimiser_string_has_an_indonesian_translation():
    from babel.messages.pofile import read_po
    from django.conf import settings
    from django.utils.translation.template import templatize

    from tests.analytics.test_translations import ROOT, _messages

    found = set()
    for name in ("orders/templates/orders/_cart_plan.html", "orders/templates/orders/cart.html"):
        found |= _messages(templatize((ROOT / name).read_text(encoding="utf-8"), origin=name), name)
    for name in ("orders/errors.py", "orders/views.py"):
        found |= _messages((ROOT / name).read_text(encoding="utf-8"), name)
    with open(settings.BASE_DIR / "locale" / "id" / "LC_MESSAGES" / "django.po", "rb") as po:
        catalog = read_po(po)
    missing = [f"{where}: {msgid!r}" for context, msgid, where in sorted(found, key=lambda m: (m[2], m[1]))
               if (entry := catalog.get(msgid, context=context)) is None or entry.fuzzy or not entry.string]
    assert not missing, "\n".join(missing)


def test_substitutes_only_when_the_box_is_ticked_and_marked_on_the_page(client, buyer):
    _wanted, substitute = cart_with_a_cheaper_substitute(buyer=buyer)
    client.force_login(buyer.user)
    plain = client.post(reverse("orders:cart_optimise"), {}, HTTP_HX_REQUEST="true").content.decode()
    assert "optimise-apply" not in plain and "Pengganti" not in plain and "Substitute" not in plain
    allowed = client.post(reverse("orders:cart_optimise"), {"allow_substitutes": "1"}, HTTP_HX_REQUEST="true",
                          HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert "Pengganti (suku cadang yang dapat dipertukarkan)" in allowed and substitute.sku in allowed
