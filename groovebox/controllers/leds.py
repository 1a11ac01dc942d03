"""LED frames: the message each pad and button LED should show, and the diff against what was sent.

Pure (no I/O), called on the control thread. ``build_frame`` turns pad states, categories and button lamps
into a ``LedFrame`` keyed by address ``(kind, number)``; the channel is not part of the key, because on a
Launchpad a flashing LED (channel 1) and a static one (channel 0) are two messages for the same LED.
``frame.diff(previous)`` returns only the messages that changed, or all of them when ``previous`` is None
(a repaint after connect). Each pad area of the device (one on a 16-pad device, four quadrants on an
8x8) shows one bank of 16 session pads: area ``a`` shows bank ``first_bank + a``; an area past the last bank
is dark. Devices without ``[leds]`` get an empty frame and nothing is ever sent.

Pad looks (from the pad state machine, Ableton/Zynthian conventions)::

    empty      off                        queued    flashing (green)       stopping   flashing red
    loaded     dim, colour by category    playing   pulsing / bright       recording  red
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

import mido

from groovebox.controllers.profile import BUTTON_NAMES, PADS, LedSpec, LedStyle, Profile

__all__ = ["STATES", "LAMPS", "Address", "LedFrame", "build_frame"]

STATES = ("empty", "loaded", "queued", "playing", "stopping", "recording")
LAMPS = ("off", "on", "blink")

Address = tuple[str, int]   # ("note" | "cc", number)


class LedFrame(Mapping[Address, mido.Message]):
    """Read-only mapping address -> the message that sets that LED. Control thread."""

    def __init__(self, messages: Mapping[Address, mido.Message] | None = None) -> None:
        self._messages = dict(messages or {})

    def __getitem__(self, address: Address) -> mido.Message:
        return self._messages[address]

    def __iter__(self) -> Iterator[Address]:
        return iter(self._messages)

    def __len__(self) -> int:
        return len(self._messages)

    def __repr__(self) -> str:
        return f"LedFrame({len(self)} LEDs)"

    def all(self) -> list[mido.Message]:
        """Every message, in frame order (pads of the shown bank first): a full repaint."""
        return list(self._messages.values())

    def diff(self, previous: LedFrame | None) -> list[mido.Message]:
        """Messages for LEDs whose message changed since ``previous`` (all of them if it is None).

        An LED that ``previous`` lit but this frame lacks is switched off (same kind, channel 0, value 0).
        """
        if previous is None:
            return self.all()
        changed = [message for address, message in self._messages.items() if not _same(previous.get(address), message)]
        dropped = [_off(message) for address, message in previous.items() if address not in self._messages]
        return changed + dropped


def build_frame(profile: Profile, states: Sequence[Any], *, first_bank: int = 0,
                categories: Sequence[str | None] | None = None,
                lamps: Mapping[str, bool | str] | None = None) -> LedFrame:
    """The LED frame for ``profile`` showing the session's pad ``states`` (16 per bank). Control thread.

    ``states`` items are "empty" ... "recording" or enum members with those names (``PadState.QUEUED``);
    the device's pad area ``a`` shows bank ``first_bank + a``. ``categories`` (one per state, None =
    unknown) picks the "loaded" colour; ``lamps`` maps button names to "off"/"on"/"blink" (or False/True).
    Buttons the device lacks are ignored; unknown names raise.
    """
    names = [_state_name(state) for state in states]
    if not names or len(names) % PADS:
        raise ValueError(f"{len(names)} pad states given, expected a multiple of {PADS}")
    if categories is not None and len(categories) != len(names):
        raise ValueError(f"{len(categories)} categories given, expected {len(names)}")
    if first_bank < 0:
        raise IndexError(f"bank {first_bank} is negative")
    lamp_names = {name: _lamp_name(name, value) for name, value in (lamps or {}).items()}
    style = profile.leds
    if style is None:
        return LedFrame()
    kind = profile.pads.kind
    messages: dict[Address, mido.Message] = {}

    def put(kind: str, number: int, look: LedSpec) -> None:
        messages[(kind, number)] = _message(kind, number, look.channel, look.velocity)

    for area in range(profile.banks):
        for pad in range(PADS):
            index = (first_bank + area) * PADS + pad
            if index < len(names):
                category = categories[index] if categories is not None else None
                look = _pad_look(style, names[index], category)
            else:
                look = style.empty
            put(kind, profile.pad_note(pad, area), look)
    for name, control in profile.buttons.items():
        if control.lamp:
            put(control.kind, control.number, _lamp_look(style, name, lamp_names.get(name, "off")))
    return LedFrame(messages)


def _pad_look(style: LedStyle, state: str, category: str | None) -> LedSpec:
    look: LedSpec = getattr(style, state)
    if state == "loaded" and category in style.loaded_by_category:
        return _spec(look.channel, style.loaded_by_category[category])
    return look


def _lamp_look(style: LedStyle, button: str, lamp: str) -> LedSpec:
    if lamp == "off":
        return style.lamp_off
    look = style.lamp_blink if lamp == "blink" and style.lamp_blink is not None else style.lamp_on
    if button in style.lamp_by_button:
        return _spec(look.channel, style.lamp_by_button[button])
    return look


# Frames are rebuilt on every refresh and mido validates each new message, so looks and messages are cached
# (a Launchpad frame: ~0.6 ms uncached on a desktop). The cached messages are shared: never mutate them.
@lru_cache(maxsize=256)
def _spec(channel: int, velocity: int) -> LedSpec:
    return LedSpec(channel=channel, velocity=velocity)


@lru_cache(maxsize=4096)
def _message(kind: str, number: int, channel: int, velocity: int) -> mido.Message:
    if kind == "cc":
        return mido.Message("control_change", channel=channel, control=number, value=velocity)
    return mido.Message("note_on", channel=channel, note=number, velocity=velocity)


def _same(a: mido.Message | None, b: mido.Message) -> bool:
    return a is b or (a is not None and a.bytes() == b.bytes())


def _off(message: mido.Message) -> mido.Message:
    if message.type == "control_change":
        return mido.Message("control_change", control=message.control, value=0)
    return mido.Message("note_on", note=message.note, velocity=0)


def _state_name(state: Any) -> str:
    name = state if isinstance(state, str) else getattr(state, "name", None)
    if not isinstance(name, str) or name.lower() not in STATES:
        raise ValueError(f"unknown pad state {state!r}; expected one of {', '.join(STATES)}")
    return name.lower()


def _lamp_name(button: str, value: bool | str) -> str:
    if button not in BUTTON_NAMES:
        raise ValueError(f"unknown button {button!r}; expected one of {', '.join(BUTTON_NAMES)}")
    if isinstance(value, bool):
        return "on" if value else "off"
    if value not in LAMPS:
        raise ValueError(f"lamp {button}: {value!r} is not one of {', '.join(LAMPS)}")
    return value
