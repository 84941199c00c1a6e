"""The header seen logged out: the login button is readable on the blue bar, on a desktop and
on a phone (issue 11 item 18). Contrast is measured from the computed colours (WCAG 2.x)."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RGB_RE = re.compile(r"rgba?\(([\d.]+), ([\d.]+), ([\d.]+)(?:, ([\d.]+))?\)")


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
    red, green, blue = (channel(v) for v in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _contrast(foreground: str, background: str) -> float:
    fg, bg = (tuple(float(v) for v in RGB_RE.match(c).groups()[:3]) for c in (foreground, background))
    lighter, darker = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _button_colours(page) -> tuple[str, str]:
    """The login button's text colour and the colour behind it (its own, or the bar's when transparent)."""
    return page.evaluate("""() => {
        const button = document.querySelector('.mainnav__account a.button');
        let node = button, background = 'rgba(0, 0, 0, 0)';
        while (node) {
            background = getComputedStyle(node).backgroundColor;
            if (!/rgba\\(.*, 0\\)$/.test(background)) break;
            node = node.parentElement;
        }
        return [getComputedStyle(button).color, background];
    }""")


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_login_button_is_readable_when_logged_out(new_page, live_server, screenshot, device):
    page = new_page(device)
    page.goto(live_server.url)
    if device == "phone":
        page.get_by_label("Menu").click()
    button = page.get_by_role("navigation").get_by_role("link", name="Masuk")
    assert button.is_visible()
    screenshot(page, f"header-logged-out-{device}")
    foreground, background = _button_colours(page)
    assert _contrast(foreground, background) >= 4.5, (foreground, background)
    button.hover()
    foreground, background = _button_colours(page)
    assert _contrast(foreground, background) >= 4.5, ("hover", foreground, background)
