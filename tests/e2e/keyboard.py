"""Keyboard-only helpers: move with Tab / Shift+Tab and check that focus stays visible."""

from __future__ import annotations

FOCUS_VISIBLE_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return 'nothing focused';
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  const shadow = s.boxShadow && s.boxShadow !== 'none';
  const r = el.getBoundingClientRect();
  if (r.width < 2 || r.height < 2) {
    return 'focused element has no size: ' + el.outerHTML.slice(0, 120);
  }
  return (outline || shadow) ? '' : 'no focus indicator on ' + el.outerHTML.slice(0, 120);
}"""


def assert_focus_visible(page) -> None:
    problem = page.evaluate(FOCUS_VISIBLE_JS)
    assert not problem, f"{page.url}: {problem}"


def focused_matches(page, selector: str, text: str | None = None) -> bool:
    return page.evaluate(
        """([sel, text]) => { const el = document.activeElement;
             return !!el && el.matches(sel)
                    && (text === null || el.textContent.trim() === text); }""",
        [selector, text])


def tab_to(page, selector: str, text: str | None = None, *, backwards: bool = False,
           limit: int = 80) -> None:
    """Press Tab (or Shift+Tab) until the focused element matches `selector` (and has the
    text `text`), checking at every stop that the focus indicator is visible."""
    key = "Shift+Tab" if backwards else "Tab"
    wrapped = False
    for _ in range(limit):
        page.keyboard.press(key)
        if not wrapped and page.evaluate("() => document.activeElement === document.body"):
            wrapped = True  # past the end of the page (the browser's own controls): go round
            continue
        assert_focus_visible(page)
        if focused_matches(page, selector, text):
            return
    raise AssertionError(f"{page.url}: {selector} not reached with {limit} presses of {key}")


def type_into(page, selector: str, text: str) -> None:
    """Tab to a text field, clear it with the keyboard and type."""
    tab_to(page, selector)
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(text)


def press_and_wait(page, key: str = "Enter") -> None:
    """Press a key that submits a form or follows a link, and wait for the new page."""
    with page.expect_navigation():
        page.keyboard.press(key)
    page.wait_for_load_state("load")


def focused_id(page) -> str:
    return page.evaluate("() => document.activeElement ? document.activeElement.id : ''")


FOCUSED_RADIO_JS = """() => {
  const el = document.activeElement;
  if (!el || el.type !== 'radio') return null;
  const box = (el.closest('.choice') || el).getBoundingClientRect();
  return {name: el.name, value: el.value, checked: el.checked,
          label: el.labels.length ? el.labels[0].textContent.trim() : '',
          left: Math.round(box.left + window.scrollX), top: Math.round(box.top + window.scrollY)};
}"""


def walk_radio_group(page, key: str = "ArrowRight") -> list[dict]:
    """From the focused radio, press `key` once per choice of its group, all the way
    round to where it started; return each stop (value, label and where on the page its
    choice is drawn) so a test can check that the arrows follow the scale as it is shown. Every
    stop but the first is checked on arrival: the walk ends on the starting choice."""
    start = page.evaluate(FOCUSED_RADIO_JS)
    assert start, f"{page.url}: no radio button has the focus"
    count = page.evaluate(
        "(name) => document.querySelectorAll(`input[type=radio][name='${name}']`).length",
        start["name"])
    stops = [start]
    for _ in range(count):
        page.keyboard.press(key)
        assert_focus_visible(page)
        stops.append(page.evaluate(FOCUSED_RADIO_JS))
    assert stops[-1]["value"] == start["value"] and stops[-1]["checked"], stops
    return stops[:-1]
