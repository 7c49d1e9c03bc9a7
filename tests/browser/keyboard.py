"""A person at the keyboard alone: Tab, Shift+Tab, Enter, Space and the arrow keys, no mouse.

:class:`Keyboard` moves the focus as a person does, one key at a time (never ``focus()`` nor
``click()``), and checks on the way what she relies on: every control she reaches with Tab
shows a focus ring and is on the screen. A control Tab never reaches fails the journey.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import expect

# What has the focus: a short description, whether a focus ring shows and whether it is seen.
FOCUSED = """(target) => {
    const el = document.activeElement;
    if (!el || el === document.body) return { what: "rien (body)", here: false, ring: false, seen: false };
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
    const name = (el.getAttribute("aria-label") || label || el.innerText || el.value || "").trim();
    const ring = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
    const seen = r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < window.innerHeight
        && r.right > 0 && r.left < window.innerWidth;
    return {
        what: `${el.tagName.toLowerCase()}${el.type ? "[" + el.type + "]" : ""} « ${name.slice(0, 70)} »`,
        here: el === target,
        ring: Boolean(ring),
        seen,
    };
}"""
TAB_LIMIT = 80  # more presses than any screen of the portal needs between two controls


@dataclass
class Keyboard:
    """The keyboard of ``page``; problems with the focus are added to ``problems``."""

    page: Any
    problems: list[str] = field(default_factory=list)

    def _state(self, target: Any) -> dict[str, Any]:
        handle = target.element_handle() if target is not None else None
        try:
            return dict(self.page.evaluate(FOCUSED, handle))
        finally:
            if handle is not None:
                handle.dispose()

    def tab_to(self, target: Any, *, back: bool = False) -> None:
        """Tab (``back``: Shift+Tab) until ``target`` has the focus, each stop with a visible
        focus ring on the screen."""
        expect(target).to_be_visible()
        if self._state(target)["here"]:
            return  # already there (a page puts the focus in its first field)
        key = "Shift+Tab" if back else "Tab"
        path: list[str] = []
        for _ in range(TAB_LIMIT):
            self.page.keyboard.press(key)
            state = self._state(target)
            path.append(state["what"])
            if not state["ring"]:
                self.problems.append(f"focus invisible sur {state['what']} (vers {target})")
            if not state["seen"]:
                self.problems.append(f"focus hors de l'écran sur {state['what']} (vers {target})")
            if state["here"]:
                return
        raise AssertionError(f"{key} n'atteint jamais la cible; parcours : " + " → ".join(path))

    def press(self, target: Any, key: str = "Enter", *, back: bool = False) -> None:
        """Tab to ``target``, then press ``key`` (Enter, Space…) on it."""
        self.tab_to(target, back=back)
        self.page.keyboard.press(key)

    def type_into(self, target: Any, text: str, *, back: bool = False) -> None:
        """Tab to a text field and type ``text`` into it, key by key."""
        self.tab_to(target, back=back)
        self.page.keyboard.type(text)
        expect(target).to_have_value(text)

    def type_date(self, target: Any, iso: str, *, back: bool = False) -> None:
        """Tab to a date field and type the date digit by digit, in the order the field shows
        its parts: Debian's Chromium (its only interface language is en-US) shows mm/dd/yyyy,
        each part moving on to the next once full."""
        year, month, day = iso.split("-")
        self.tab_to(target, back=back)
        self.page.keyboard.type(month + day + year)
        expect(target).to_have_value(iso)

    def choose(self, select: Any, label: str | re.Pattern[str]) -> None:
        """Tab to a closed list (``select``) and move through its options with the arrow keys
        until the one whose text is (or matches) ``label`` is chosen."""
        self.tab_to(select)
        texts = [t.strip() for t in select.locator("option").all_inner_texts()]
        wanted = [
            i
            for i, t in enumerate(texts)
            if (label.search(t) if isinstance(label, re.Pattern) else t == label)
        ]
        assert wanted, f"{label!r} absent de la liste : {texts}"
        current = select.evaluate("(el) => el.selectedIndex")
        steps = wanted[0] - current
        for _ in range(abs(steps)):
            self.page.keyboard.press("ArrowDown" if steps > 0 else "ArrowUp")
        expect(select).to_have_value(select.locator("option").nth(wanted[0]).get_attribute("value"))

    def check(self, box: Any, *, back: bool = False) -> None:
        """Tab to a checkbox and tick it with Space."""
        self.press(box, "Space", back=back)
        expect(box).to_be_checked()

    def pick(self, radio: Any, *, back: bool = False) -> None:
        """Choose a radio button: Tab into its group, then the arrow keys until it is chosen
        (Tab stops on one radio of a group only)."""
        expect(radio).to_be_visible()
        name = radio.get_attribute("name")
        group = self.page.locator(f"input[type=radio][name='{name}']")
        key = "Shift+Tab" if back else "Tab"
        for _ in range(TAB_LIMIT):
            self.page.keyboard.press(key)
            if self.page.evaluate(
                "(name) => document.activeElement && document.activeElement.name === name", name
            ):
                break
        else:
            raise AssertionError(f"Tab n'atteint jamais le groupe de boutons radio {name}")
        state = self._state(radio)
        if not state["ring"]:
            self.problems.append(f"focus invisible sur {state['what']}")
        if state["here"]:
            self.page.keyboard.press("Space")
        else:
            for _ in range(group.count()):
                self.page.keyboard.press("ArrowDown")
                if self._state(radio)["here"]:
                    break
        expect(radio).to_be_checked()

    def expect_focus_on(self, target: Any) -> None:
        """The focus is on ``target`` (where the page put it after an action)."""
        expect(target).to_be_focused()
