"""Front-panel encoders and buttons on GPIO: the only module that imports gpiozero (lazily).

``PanelInputs`` opens three push encoders (value, tempo, volume) and four buttons (shift, play, tap,
record) at the BCM pins of ``[panel]`` and reports each as ``on_input(control, action, steps)``:
``("value", "turn", +1)``, ``("value", "press", 0)``, ``("shift", "release", 0)``, ...
Callbacks run on gpiozero's threads (on a mock factory: inside ``pin.drive_*``, on the caller's thread);
the caller passes a function that hands them to the control loop (``loop.call_soon_threadsafe``).
Decisions: encoders are unbounded (``max_steps=0``) and report single detents, so acceleration is the
panel's business; buttons are wired to ground (pull-ups); ``mock=True`` uses gpiozero's ``MockFactory``
(its pins are ``inputs.pin_factory.pin(n)``), which laptops and tests drive with ``drive_low/high``.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["BUTTONS", "ENCODERS", "GpioError", "PanelInputs"]

ENCODERS = ("value", "tempo", "volume")
BUTTONS = ("shift", "play", "tap", "record")

InputHandler = Callable[[str, str, int], None]


class GpioError(RuntimeError):
    """The GPIO pins cannot be opened (not a Pi, no permission, pin busy)."""


class PanelInputs:
    """The panel's gpiozero devices. ``start(on_input)`` attaches the callbacks; ``close()`` frees the pins."""

    def __init__(self, settings, *, mock: bool = False) -> None:
        from gpiozero import Button, RotaryEncoder
        from gpiozero.exc import GPIOZeroError

        self.pin_factory = None
        if mock:
            from gpiozero.pins.mock import MockFactory

            self.pin_factory = MockFactory()
        self._on_input: InputHandler | None = None
        self._devices = []
        bounce_s = settings.bounce_s or None
        try:
            self.encoders = {name: RotaryEncoder(getattr(settings, f"{name}_a"), getattr(settings, f"{name}_b"),
                                                 max_steps=0, pin_factory=self.pin_factory) for name in ENCODERS}
            self._devices += self.encoders.values()
            pushes = {f"{name}_push": name for name in ENCODERS}
            self.buttons = {control: Button(getattr(settings, field), bounce_time=bounce_s,
                                            pin_factory=self.pin_factory)
                            for field, control in [*pushes.items(), *((b, b) for b in BUTTONS)]}
            self._devices += self.buttons.values()
        except (GPIOZeroError, OSError, RuntimeError) as exc:
            self.close()
            raise GpioError(f"front-panel GPIO: {exc}") from None

    def shift_held(self) -> bool:
        """Whether Shift is held right now (read once at boot: start with an empty session)."""
        return bool(self.buttons["shift"].is_pressed)

    def start(self, on_input: InputHandler) -> None:
        """Report every detent and button edge to ``on_input`` from now on."""
        self._on_input = on_input
        for name, encoder in self.encoders.items():
            encoder.when_rotated_clockwise = self._reporter(name, "turn", 1)
            encoder.when_rotated_counter_clockwise = self._reporter(name, "turn", -1)
        for control, button in self.buttons.items():
            button.when_pressed = self._reporter(control, "press", 0)
            button.when_released = self._reporter(control, "release", 0)

    def _reporter(self, control: str, action: str, steps: int) -> Callable[[], None]:
        def report() -> None:
            if self._on_input is not None:
                self._on_input(control, action, steps)
        return report

    def close(self) -> None:
        """Release every pin; safe to call twice."""
        self._on_input = None
        for device in self._devices:
            device.close()
        self._devices = []
