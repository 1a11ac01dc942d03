"""Hot-plug: matches MIDI ports to controller profiles and keeps one ``PadDriver`` per connected device.

Runs on the control loop. The port watcher thread only says "something changed"; the rescan, opening ports
and initialising devices happen here. A device that disappears is dropped (its ports closed); when it comes
back it is matched again, re-initialised and repainted. The audio never depends on any of this.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from groovebox.control.session import Session
from groovebox.controllers.driver import PadDriver
from groovebox.controllers.profile import Profile

__all__ = ["ControllerManager", "match_profile"]

log = logging.getLogger(__name__)


def match_profile(port_name: str, profiles: list[Profile]) -> Profile | None:
    """The first profile whose ``match`` fits ``port_name`` (profiles are sorted by file name)."""
    return next((profile for profile in profiles if profile.matches(port_name)), None)


def _client(port_name: str) -> str:
    """The client part of a port name ("Launchpad Mini MK3:LPMiniMK3 MIDI" -> "Launchpad Mini MK3")."""
    return port_name.split(":", 1)[0]


@dataclass
class _Device:
    driver: PadDriver
    input_port: object
    output_name: str | None
    output_port: object | None


class ControllerManager:
    """Owns the connected controllers. ``ports`` is a ``groovebox.hw.midi_bridge.MidiBridge`` (it polls the
    port lists in the MIDI process and calls ``watch``'s callback on changes)."""

    def __init__(self, ports, profiles: list[Profile], session: Session, loop: asyncio.AbstractEventLoop) -> None:
        self.ports = ports
        self.profiles = profiles
        self.session = session
        self.loop = loop
        self._devices: dict[str, _Device] = {}
        self.after_rescan: list = []        # more port users (clock in/out) that follow plugs and unplugs

    @property
    def drivers(self) -> list[PadDriver]:
        return [device.driver for device in self._devices.values()]

    def start(self) -> None:
        """Connect what is plugged in now and start watching for changes."""
        self.rescan()
        self.ports.watch(self._changed_threadsafe)

    def stop(self) -> None:
        """Stop watching; leave every device in its normal mode and close the ports."""
        self.ports.watch(None)
        for name in list(self._devices):
            self._devices[name].driver.disconnect()
            self._close(name)

    def _changed_threadsafe(self, appeared: set[str], disappeared: set[str]) -> None:
        """Called on the watcher thread."""
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.rescan)

    def rescan(self) -> None:
        """Drop devices whose ports went away, connect matching ports that are new."""
        inputs = self.ports.input_names()
        outputs = self.ports.output_names()
        for name, device in list(self._devices.items()):
            if name not in inputs or (device.output_name is not None and device.output_name not in outputs):
                log.info("controller %s disconnected (%s)", device.driver.profile.name, name)
                self._close(name)
        for name in inputs:
            if name not in self._devices:
                profile = match_profile(name, self.profiles)
                if profile is not None:
                    self._open(name, profile, outputs)
        for hook in self.after_rescan:
            hook()

    def _open(self, input_name: str, profile: Profile, outputs: list[str]) -> None:
        output_name = self._output_for(input_name, profile, outputs)
        output_port = self.ports.open_output(output_name) if output_name else None
        driver = PadDriver(profile, self.session, output_port, input_name)
        input_port = self.ports.open_input(input_name, lambda message: self._received(driver, message))
        self._devices[input_name] = _Device(driver, input_port, output_name, output_port)
        self.session.listeners.append(driver.refresh)
        driver.connect()
        log.info("controller %s connected (%s)", profile.name, input_name)

    def _received(self, driver: PadDriver, message) -> None:
        """rtmidi thread: hand the message to the control loop."""
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(driver.handle, message)

    @staticmethod
    def _output_for(input_name: str, profile: Profile, outputs: list[str]) -> str | None:
        """The device's output port: same name, else a matching port of the same client, else any match."""
        if input_name in outputs:
            return input_name
        matching = [name for name in outputs if profile.matches(name)]
        same_client = [name for name in matching if _client(name) == _client(input_name)]
        return (same_client or matching or [None])[0]

    def _close(self, name: str) -> None:
        device = self._devices.pop(name)
        if device.driver.refresh in self.session.listeners:
            self.session.listeners.remove(device.driver.refresh)
        device.input_port.close()
        if device.output_port is not None:
            device.output_port.close()

    def clock_outputs(self) -> list:
        """Output ports of connected devices whose profile wants our MIDI clock (LED flash/pulse timing)."""
        return [d.output_port for d in self._devices.values()
                if d.output_port is not None and d.driver.profile.clock_out]

    def describe(self) -> list[dict]:
        """The connected controllers, for ``/api/health`` and ``groovebox devices``."""
        return [{"profile": d.driver.profile.name, "input": name, "output": d.output_name,
                 "first_bank": d.driver.first_bank, "ignored_messages": d.driver.ignored}
                for name, d in self._devices.items()]
