"""The building blocks of panel screens: a screen, and a screen that is a list of actions and settings.

Runs on the control loop (``Panel`` calls screens). Decisions: turning moves the cursor, a push runs an
action or starts/stops turning a setting, and while a setting turns the encoder is accelerated. A screen
may claim the play button (``play`` returns True); otherwise the panel's own play/stop runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from groovebox.display.views import ListView, Row, View

if TYPE_CHECKING:
    from groovebox.panel.panel import Panel

__all__ = ["Action", "Item", "ItemScreen", "Screen", "Setting", "pan_text", "step_through"]


@dataclass(frozen=True)
class Action:
    label: str
    run: Callable[[], None]


@dataclass(frozen=True)
class Setting:
    label: str
    show: Callable[[], str]
    change: Callable[[int], None]


Item = Action | Setting


def step_through(values: tuple, current, steps: int):
    """The value ``steps`` places from ``current`` in ``values``, clamped at both ends."""
    index = values.index(current) if current in values else 0
    return values[min(max(index + steps, 0), len(values) - 1)]


def pan_text(pan: float) -> str:
    """A pan position as a mixer writes it: ``C``, ``L40``, ``R100``."""
    if abs(pan) < 0.005:
        return "C"
    return f"{'L' if pan < 0 else 'R'}{abs(pan) * 100:.0f}"


class Screen(ABC):
    """Base: push and turn do nothing; ``view`` says what the OLED shows."""

    def turn(self, panel: Panel, detents: int, steps: int) -> None:
        """``detents`` as turned (+1/-1), ``steps`` accelerated."""

    def push(self, panel: Panel) -> None:
        """The value encoder was pushed."""

    def play(self, panel: Panel) -> bool:
        """The play button was pressed: True when this screen handled it."""
        return False

    @abstractmethod
    def view(self, panel: Panel) -> View:
        """This screen's page, from the current state."""


class ItemScreen(Screen):
    """A list of actions and settings with a cursor (see the module docstring)."""

    title = ""

    def __init__(self) -> None:
        self.cursor = 0
        self.editing = False

    def items(self, panel: Panel) -> list[Item]:
        return []

    def turn(self, panel: Panel, detents: int, steps: int) -> None:
        items = self.items(panel)
        if self.editing and self.cursor < len(items) and isinstance(items[self.cursor], Setting):
            items[self.cursor].change(steps)
        elif items:
            self.cursor = min(max(self.cursor + detents, 0), len(items) - 1)

    def push(self, panel: Panel) -> None:
        items = self.items(panel)
        if not items:
            return
        item = items[min(self.cursor, len(items) - 1)]
        if isinstance(item, Setting):
            self.editing = not self.editing
        else:
            item.run()

    def rows(self, panel: Panel) -> tuple[Row, ...]:
        return tuple(Row(item.label, item.show() if isinstance(item, Setting) else "")
                     for item in self.items(panel))

    def view(self, panel: Panel) -> View:
        return ListView(self.title, self.rows(panel), self.cursor, self.editing)
