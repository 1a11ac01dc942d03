"""Controller profiles: one TOML file per pad controller, validated into a frozen ``Profile``.

Loaded once at start-up (main thread); the lookups (``matches``, ``pad_for``, ``button_for``) are pure and run
on the control thread for every incoming message. A bad file fails with the file and the field path, e.g.
``launchpad.toml: pads.notes: 15 notes given, a pad area needs 16``.

Pads are numbered 0..15 from the bottom-left of the 4x4, row-major upwards (pads 0-3 are the bottom row,
12-15 the top row). An 8x8 device adds banks: bank ``b`` is ``notes`` shifted by ``bank_offsets[b]``, so all
banks can be played at once and ``pad_for`` says which one was hit.

Button names are a fixed set, so a typo fails at load time (``BUTTON_NAMES``)::

    play        start/stop the transport          stop_all    stop every pad (at the quantum)
    shift       modifier, held                    quantize    change the launch quantum
    record_arm  arm recording into a pad          tap         tap tempo
    bank_prev   previous pad bank                 bank_next   next pad bank
    scene_1..4  launch one pad row: scene_1 = top row (pads 12-15) ... scene_4 = bottom row (pads 0-3),
                the top-to-bottom order of the scene buttons on Launchpads and APCs (see ``scene_pads``)

An optional ``[live]`` table maps faders/knobs (control change messages) to the live Lyria pad
(``LIVE_CONTROLS``): ``weight_1``..``weight_4`` (the stream's prompts in order: prompt text, genre,
instrument, mood; weight = value/127*2, as PromptDJ MIDI), ``density`` and ``brightness`` (value/127)::

    [live]
    weight_1 = { number = 48 }          # channel 0 unless given ("any" for any channel)

Port names are matched with ``re.search``, case-sensitively ("APC MINI" must not match "APC mini mk2");
write ``(?i)`` in a pattern to ignore case. Hex strings (``"F0 00 20 29 02 0D 0E 01 F7"``) become
``mido.Message`` objects; any complete message may be given, not only SysEx.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import mido
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

__all__ = [
    "BUTTON_NAMES", "CATEGORIES", "LIVE_CONTROLS", "PADS", "Control", "LedSpec", "LedStyle", "LiveFader", "PadArea",
    "Profile", "ProfileError",
    "default_profile_dir", "is_press", "load_profile", "load_profiles", "message_address", "scene_pads",
]

PADS = 16
BUTTON_NAMES = (
    "play", "stop_all", "shift", "quantize", "record_arm", "tap", "bank_prev", "bank_next",
    "scene_1", "scene_2", "scene_3", "scene_4",
)
CATEGORIES = ("drums", "bass", "synth", "vocals", "sfx", "ambient")
LIVE_CONTROLS = ("weight_1", "weight_2", "weight_3", "weight_4", "density", "brightness")

Kind = Literal["note", "cc"]
ButtonName = Literal[BUTTON_NAMES]
Category = Literal[CATEGORIES]
LiveControl = Literal[LIVE_CONTROLS]
Number = Annotated[int, Field(ge=0, le=127)]
_Address = tuple[str, int | None, int]   # (kind, channel or None = any, number)


class ProfileError(ValueError):
    """A controller profile is unreadable or invalid; the message names the file and the field path."""


def _parse_hex(value: Any) -> mido.Message:
    if isinstance(value, mido.Message):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a hex string like \"F0 7E 7F 06 01 F7\", got {value!r}")
    try:
        data = bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{value!r} is not hex bytes (pairs of hex digits, e.g. \"F0 7E 7F 06 01 F7\")") from None
    try:
        return mido.Message.from_bytes(data)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not one complete MIDI message: {exc}") from None


def _parse_channel(value: Any) -> int | None:
    """0..15, or "any" (stored as None) for devices whose channel is set by the user."""
    if value is None or value == "any":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 15:
        raise ValueError(f"channel must be 0..15 (0 = MIDI channel 1) or \"any\", got {value!r}")
    return value


def _check_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
    return pattern


HexMessage = Annotated[mido.Message, BeforeValidator(_parse_hex)]
Regex = Annotated[str, AfterValidator(_check_regex)]
Channel = Annotated[int | None, BeforeValidator(_parse_channel)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Control(_Model):
    """A function button: what it sends (``kind``, ``number``, ``channel``); ``lamp`` = it has an LED we drive."""

    kind: Kind
    number: Number
    channel: Channel = 0
    lamp: bool = True


class LiveFader(_Model):
    """A fader or knob for the live pad: control change ``number`` on ``channel``."""

    number: Number
    channel: Channel = 0


class PadArea(_Model):
    """The 4x4 pad area: what pads 0..15 send (and how their LEDs are addressed), plus optional banks."""

    kind: Kind = "note"
    channel: Channel
    notes: tuple[Number, ...]
    bank_offsets: tuple[int, ...] = (0,)

    @field_validator("notes")
    @classmethod
    def _sixteen_unique(cls, notes: tuple[int, ...]) -> tuple[int, ...]:
        if len(notes) != PADS:
            raise ValueError(f"{len(notes)} notes given, a pad area needs {PADS} (bottom-left first, rows upwards)")
        repeated = sorted({n for n in notes if notes.count(n) > 1})
        if repeated:
            raise ValueError(f"notes repeat: {repeated}")
        return notes

    @field_validator("bank_offsets")
    @classmethod
    def _banks_fit(cls, offsets: tuple[int, ...], info: ValidationInfo) -> tuple[int, ...]:
        notes = info.data.get("notes")
        if not offsets or offsets[0] != 0:
            raise ValueError("the first offset must be 0 (bank 0 is the notes list itself)")
        if notes is None:
            return offsets
        seen: set[int] = set()
        for bank, offset in enumerate(offsets):
            shifted = [n + offset for n in notes]
            if not all(0 <= n <= 127 for n in shifted):
                raise ValueError(f"bank {bank} (offset {offset}) leaves the note range 0..127")
            if seen.intersection(shifted):
                raise ValueError(f"bank {bank} (offset {offset}) overlaps an earlier bank")
            seen.update(shifted)
        return offsets

    def note(self, pad: int, bank: int = 0) -> int:
        """The note (or CC number) of ``pad`` 0..15 in ``bank``."""
        if not 0 <= pad < PADS:
            raise IndexError(f"pad {pad} is outside 0..{PADS - 1}")
        if not 0 <= bank < len(self.bank_offsets):
            raise IndexError(f"bank {bank} is outside 0..{len(self.bank_offsets) - 1}")
        return self.notes[pad] + self.bank_offsets[bank]


class LedSpec(_Model):
    """One LED look: the message channel (Launchpad: 0 static, 1 flash, 2 pulse; APC mk2: brightness or
    blink/pulse rate) and the velocity (palette index, or the APC mk1's colour code)."""

    channel: Annotated[int, Field(ge=0, le=15)] = 0
    velocity: Number


class LedStyle(_Model):
    """LED looks per pad state, plus function-button lamps (off/on/blink)."""

    empty: LedSpec = LedSpec(velocity=0)
    loaded: LedSpec
    queued: LedSpec
    playing: LedSpec
    stopping: LedSpec
    recording: LedSpec
    loaded_by_category: dict[Category, Number] = {}   # velocity for "loaded", on ``loaded.channel``
    lamp_off: LedSpec = LedSpec(velocity=0)
    lamp_on: LedSpec = LedSpec(velocity=127)
    lamp_blink: LedSpec | None = None                 # None: blinking lamps are shown as on
    lamp_by_button: dict[ButtonName, Number] = {}     # velocity for "on"/"blink" of one button


class Profile(_Model):
    """One controller model: how to find its port, wake it, read its pads and buttons, and light its LEDs."""

    name: Annotated[str, Field(min_length=1)]
    match: Annotated[tuple[Regex, ...], Field(min_length=1)]
    exclude: tuple[Regex, ...] = ()
    velocity: bool = False
    clock_out: bool = False
    inquiry: bool = False
    on_connect: tuple[HexMessage, ...] = ()
    on_disconnect: tuple[HexMessage, ...] = ()
    pads: PadArea
    buttons: dict[ButtonName, Control] = {}
    leds: LedStyle | None = None
    live: dict[LiveControl, LiveFader] = {}

    _match: tuple[re.Pattern, ...] = PrivateAttr()
    _exclude: tuple[re.Pattern, ...] = PrivateAttr()
    _pads: dict[int, tuple[int, int]] = PrivateAttr()

    @field_validator("buttons")
    @classmethod
    def _buttons_distinct(cls, buttons: dict[str, Control], info: ValidationInfo) -> dict[str, Control]:
        pads: PadArea | None = info.data.get("pads")
        owners: list[tuple[str, _Address]] = []
        if pads is not None:
            owners = [(f"pad {pad} of bank {bank}", (pads.kind, pads.channel, pads.note(pad, bank)))
                      for bank in range(len(pads.bank_offsets)) for pad in range(PADS)]
        for name, control in buttons.items():
            mine = (control.kind, control.channel, control.number)
            for owner, address in owners:
                if _clash(mine, address):
                    raise ValueError(f"{name} ({control.kind} {control.number}) is already {owner}")
            owners.append((f"button {name}", mine))
        return buttons

    @field_validator("live")
    @classmethod
    def _live_distinct(cls, live: dict[str, LiveFader], info: ValidationInfo) -> dict[str, LiveFader]:
        owners: list[tuple[str, _Address]] = []
        pads: PadArea | None = info.data.get("pads")
        if pads is not None:
            owners = [(f"pad {pad} of bank {bank}", (pads.kind, pads.channel, pads.note(pad, bank)))
                      for bank in range(len(pads.bank_offsets)) for pad in range(PADS)]
        buttons: dict[str, Control] = info.data.get("buttons", {})
        owners += [(f"button {name}", (b.kind, b.channel, b.number)) for name, b in buttons.items()]
        for name, fader in live.items():
            mine = ("cc", fader.channel, fader.number)
            for owner, address in owners:
                if _clash(mine, address):
                    raise ValueError(f"{name} (cc {fader.number}) is already {owner}")
            owners.append((f"live {name}", mine))
        return live

    @field_validator("leds", mode="before")
    @classmethod
    def _leds_false_is_none(cls, value: Any) -> Any:
        if value is False:
            return None
        if value is True:
            raise ValueError("leds = true is not a style: give a [leds] table, or false")
        return value

    def model_post_init(self, context: Any) -> None:
        self._match = tuple(re.compile(p) for p in self.match)
        self._exclude = tuple(re.compile(p) for p in self.exclude)
        self._pads = {self.pads.note(pad, bank): (bank, pad)
                      for bank in range(len(self.pads.bank_offsets)) for pad in range(PADS)}

    @property
    def banks(self) -> int:
        """How many pad banks the device has (1 unless ``pads.bank_offsets`` lists more)."""
        return len(self.pads.bank_offsets)

    def matches(self, port_name: str) -> bool:
        """True if ``port_name`` matches one ``match`` regex and no ``exclude`` regex."""
        return (any(p.search(port_name) for p in self._match)
                and not any(p.search(port_name) for p in self._exclude))

    def pad_for(self, message: mido.Message) -> tuple[int, int] | None:
        """``(bank, pad)`` for a pad press or release, else None. Use ``is_press`` to tell which."""
        address = message_address(message)
        if address is None or address[0] != self.pads.kind or not _channel_ok(self.pads.channel, message):
            return None
        return self._pads.get(address[1])

    def button_for(self, message: mido.Message) -> str | None:
        """The button name for a press or release of a function button, else None."""
        address = message_address(message)
        if address is None:
            return None
        for name, control in self.buttons.items():
            if (control.kind, control.number) == address and _channel_ok(control.channel, message):
                return name
        return None

    def live_for(self, message: mido.Message) -> str | None:
        """The live-pad control (``LIVE_CONTROLS``) a control change belongs to, else None."""
        if message.type != "control_change":
            return None
        for name, fader in self.live.items():
            if fader.number == message.control and _channel_ok(fader.channel, message):
                return name
        return None

    def pad_note(self, pad: int, bank: int = 0) -> int:
        """The note (or CC number, if ``pads.kind`` is "cc") of ``pad`` in ``bank``; also its LED address."""
        return self.pads.note(pad, bank)


def message_address(message: mido.Message) -> tuple[str, int] | None:
    """``("note", note)`` for note on/off, ``("cc", control)`` for control change, else None."""
    if message.type in ("note_on", "note_off"):
        return ("note", message.note)
    if message.type == "control_change":
        return ("cc", message.control)
    return None


def is_press(message: mido.Message) -> bool:
    """True for note on with velocity > 0 and CC value > 0; note off, note on 0 and CC 0 are releases."""
    if message.type == "note_on":
        return message.velocity > 0
    if message.type == "control_change":
        return message.value > 0
    return False


def scene_pads(button: str) -> range:
    """The pads a ``scene_N`` button launches: scene_1 = top row (12..15) ... scene_4 = bottom row (0..3)."""
    if button not in ("scene_1", "scene_2", "scene_3", "scene_4"):
        raise ValueError(f"{button!r} is not a scene button")
    row = 4 - int(button[-1])
    return range(row * 4, row * 4 + 4)


def default_profile_dir() -> Path:
    """``config/controllers`` in the repository (the package is installed editable, next to ``config/``)."""
    return Path(__file__).resolve().parents[2] / "config" / "controllers"


def load_profile(path: str | Path) -> Profile:
    """Read and validate one profile file; raises ``ProfileError`` naming the file and field path."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(_describe(path, exc)) from None


def load_profiles(folder: str | Path | None = None) -> list[Profile]:
    """Every ``*.toml`` in ``folder`` (default: ``default_profile_dir()``), sorted by file name.

    One bad file raises ``ProfileError``: a broken profile should stop start-up, not silently vanish.
    """
    folder = Path(folder) if folder is not None else default_profile_dir()
    return [load_profile(path) for path in sorted(folder.glob("*.toml"), key=lambda p: p.name)]


def _channel_ok(channel: int | None, message: mido.Message) -> bool:
    return channel is None or message.channel == channel


def _clash(a: _Address, b: _Address) -> bool:
    """Same kind and number, on the same channel (None = any channel meets every channel)."""
    channels_meet = a[1] is None or b[1] is None or a[1] == b[1]
    return a[0] == b[0] and a[2] == b[2] and channels_meet


def _describe(path: Path, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{path}: {field}: {message}" if field else f"{path}: {message}")
    return "\n".join(lines)
