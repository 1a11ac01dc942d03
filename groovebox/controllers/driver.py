"""One connected pad controller, driven by its profile (control loop only).

``handle`` turns the device's messages into session actions (pads, scenes, stop all, shift, quantize, tap,
banks); ``refresh`` sends only the LEDs that changed since the last frame (``repaint`` sends them all, as
after a (re)connect). The MIDI input callback runs on the rtmidi thread and must hop to the control loop
(``loop.call_soon_threadsafe(driver.handle, message)``) before calling ``handle``.

Button actions::

    pad            press/release (velocity scales one-shots on velocity-sensitive devices)
    shift + pad    stop that pad on the grid
    scene_N        launch (press) the four pads of row N (scene_1 = top row)
    stop_all       stop every pad on the grid; shift + stop_all stops at once
    quantize       next launch grid (off, 1/16, ... 4 bars), stored in the project
    tap            tap tempo, stored in the project (one undo step while tapping)
    record_arm     arm recording: the next press of an empty pad records into it (the lamp blinks while
                   armed and is lit while a take runs); pressing the recording pad ends the take
    bank_prev/next page through the session's banks of 16 pads (see below)
    [live] faders  steer the live Lyria pad (``session.live``, when there is one): prompt weights, density,
                   brightness; the live pad coalesces and throttles what it sends

Banks: the session has 1-4 banks of 16 pads (``engine.pads``). Each pad area of the device shows one bank:
a 16-pad device shows one bank at a time, an 8x8 shows four (its quadrants, ``pads.bank_offsets`` in the
profile), an MPD218 three (its hardware banks A-C). bank_prev/bank_next move by a whole device's worth of
banks (a page), so a 16-pad device with bank buttons reaches every bank and an 8x8 with 64 pads shows them
all on one page (its bank buttons stay dark). Scene buttons launch rows of the first area's bank.
"""

from __future__ import annotations

import logging
from typing import Protocol

import mido

from groovebox.control.editor import EditError, SetBpm, SetQuantize
from groovebox.control.recording import RecordError
from groovebox.control.savelock import SaveLocked
from groovebox.control.session import Session
from groovebox.controllers.leds import LedFrame, build_frame
from groovebox.controllers.profile import PADS, Profile, is_press, scene_pads
from groovebox.engine import PadState
from groovebox.engine import commands as c
from groovebox.project.model import quantize_to_text

__all__ = ["PadDriver", "Output"]

log = logging.getLogger(__name__)

_INQUIRY = mido.Message("sysex", data=[0x7E, 0x7F, 0x06, 0x01])


def _is_identity_reply(message: mido.Message) -> bool:
    """``F0 7E <device> 06 02 ...``: the answer to our device inquiry."""
    return message.type == "sysex" and len(message.data) > 4 and message.data[0] == 0x7E \
        and tuple(message.data[2:4]) == (0x06, 0x02)


class Output(Protocol):
    def send(self, message: mido.Message) -> None: ...


class PadDriver:
    """Runs one profile against one device. ``output`` is None for devices we cannot send to."""

    def __init__(self, profile: Profile, session: Session, output: Output | None, port_name: str = "") -> None:
        self.profile = profile
        self.session = session
        self.output = output
        self.port_name = port_name
        self.page = 0
        self.shift = False
        self.record_armed = False
        self.ignored = 0          # messages that were not for us (counted, never fatal)
        self.identity: bytes | None = None
        self._frame: LedFrame | None = None

    # ------------------------------------------------------------------ lifecycle
    def connect(self) -> None:
        """Initialise the device (mode SysEx, identity request) and paint every LED."""
        for message in self.profile.on_connect:
            self._send(message)
        if self.profile.inquiry:
            self._send(_INQUIRY)
        self.repaint()

    def disconnect(self) -> None:
        """Leave the device as we found it (exit SysEx) if it is still there."""
        for message in self.profile.on_disconnect:
            self._send(message)

    # ------------------------------------------------------------------ input
    def handle(self, message: mido.Message) -> None:
        """One message from the device."""
        pad = self.profile.pad_for(message)
        if pad is not None:
            self._pad(pad, message)
            return
        button = self.profile.button_for(message)
        live_control = None if button is not None else self.profile.live_for(message)
        if button is not None:
            self._button(button, is_press(message))
        elif live_control is not None:
            self._live(live_control, message.value)
        elif _is_identity_reply(message):
            self.identity = bytes(message.data)
        else:
            self.ignored += 1

    @property
    def first_bank(self) -> int:
        """The session bank shown in the device's first pad area."""
        return self.page * self.profile.banks

    @property
    def pages(self) -> int:
        session_banks = -(-len(self.session.pad_states) // PADS)
        return -(-session_banks // self.profile.banks)

    def _pad(self, area_pad: tuple[int, int], message: mido.Message) -> None:
        area, pad_in_bank = area_pad
        pad = (self.first_bank + area) * PADS + pad_in_bank
        if pad >= len(self.session.pad_states):
            self.ignored += 1
            return
        if not is_press(message):
            self.session.release(pad)
        elif self.shift:
            self.session.stop(pad)
        elif self.record_armed and self.session.pad_states[pad] == PadState.EMPTY:
            self._record_into(pad)
        else:
            velocity = message.velocity / 127 if self.profile.velocity and message.type == "note_on" else 1.0
            self.session.press(pad, velocity)

    def _record_into(self, pad: int) -> None:
        self.record_armed = False
        recorder = self.session.recorder
        try:
            if recorder is None:
                raise RecordError("recording is not available")
            recorder.arm(pad)
        except (RecordError, SaveLocked) as error:
            log.warning("%s: cannot record into pad %d: %s", self.profile.name, pad, error)
        self.refresh()

    def _live(self, control: str, value: int) -> None:
        live = self.session.live
        if live is None:
            self.ignored += 1
            return
        live.handle_cc(control, value)

    def _button(self, name: str, pressed: bool) -> None:
        if name == "shift":
            self.shift = pressed
            self.refresh()
            return
        if not pressed:
            return
        if name.startswith("scene_"):
            for pad in scene_pads(name):
                self.session.press(self.first_bank * PADS + pad)
        elif name == "stop_all":
            self.session.stop_all(quantized=not self.shift)
        elif name == "quantize":
            self._store(SetQuantize(quantize_to_text(self.session.cycle_quantize())))
        elif name == "tap":
            tempo_bpm = self.session.tap()
            if tempo_bpm is not None:
                self._store(SetBpm(min(max(tempo_bpm, 20.0), 400.0)))
        elif name == "record_arm":
            self.record_armed = not self.record_armed
        elif name in ("bank_prev", "bank_next"):
            self.page = (self.page + (1 if name == "bank_next" else -1)) % self.pages
        self.refresh()

    # ------------------------------------------------------------------ LEDs
    def refresh(self) -> None:
        """Send the LEDs that changed."""
        frame = self._build()
        for message in frame.diff(self._frame):
            self._send(message)
        self._frame = frame

    def repaint(self) -> None:
        """Send every LED (after a connect, or when the device may have lost its state)."""
        self._frame = None
        self.refresh()

    def _build(self) -> LedFrame:
        lamps = {
            "shift": self.shift,
            "record_arm": "blink" if self.record_armed else self._recording_lamp(),
            "quantize": self.session.quantize != c.Quantize.OFF,
            "bank_prev": self.pages > 1,
            "bank_next": self.pages > 1,
        }
        return build_frame(self.profile, self.session.pad_states, first_bank=self.first_bank, lamps=lamps)

    def _store(self, edit) -> None:
        """Keep the project in step with a tempo or grid set on the controller (an undoable edit)."""
        editor = self.session.editor
        if editor is None:
            return
        try:
            editor.apply(edit)
        except EditError as error:
            log.warning("%s: %s", self.profile.name, error)

    def _recording_lamp(self) -> bool:
        recorder = self.session.recorder
        return recorder is not None and recorder.pad is not None

    def _send(self, message: mido.Message) -> None:
        if self.output is not None:
            self.output.send(message)
