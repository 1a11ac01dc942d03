"""Wiring for ``groovebox run``: settings -> project -> engine -> audio backend -> control loop -> web.

Runs on the main thread, which becomes the control loop (asyncio). The audio backend calls
``Engine.render`` on its own thread; uvicorn serves the HTTP API on the control loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from groovebox.appliance.bootguard import BootGuard
from groovebox.appliance.frontpanel import open_front_panel
from groovebox.appliance.journal import use_journal_levels
from groovebox.appliance.notify import Progress, SystemdNotifier
from groovebox.background import idle_process_pool, start_pool
from groovebox.ambient.build import plan_configured
from groovebox.config import Settings, default_data_dir
from groovebox.control.autosave import SESSION_FILE, Autosaver, restore_session
from groovebox.control.editor import (
    AssignPad,
    Change,
    EditError,
    Editor,
    Origin,
    library_loop_info,
)
from groovebox.control.exports import Exports
from groovebox.control.livepad import LivePad
from groovebox.control.mixrecorder import MixRecorder
from groovebox.control.projects import ProjectStore
from groovebox.control.recording import PadRecorder
from groovebox.control.savelock import SaveLock
from groovebox.control.scenes import ScenePlayer
from groovebox.control.session import Session, SessionInfo, every
from groovebox.control.songrecorder import SongRecorder
from groovebox.control.stretcher import Stretcher
from groovebox.controllers import ControllerManager, default_profile_dir, load_profiles
from groovebox.engine import Engine, Status
from groovebox.engine import commands as c
from groovebox.engine.events import RecordingDone
from groovebox.generate.apikey import ApiKeyError, load_api_key
from groovebox.generate.jobs import JobManager
from groovebox.generate.produce import GeneratorConfig
from groovebox.hw import AudioBackend, open_audio
from groovebox.hw.midi_bridge import MidiBridge, MidiBridgeError
from groovebox.library.stretch import StretchCache
from groovebox.project.compile import CompiledProject, compile_project, session_commands
from groovebox.project.model import Project, load_project, quantize_from_text
from groovebox.sync import MidiClockIn, MidiClockOut
from groovebox.sync.link import LinkSync
from groovebox.web import create_app, warm_up
from groovebox.web.context import WebContext
from groovebox.web.pairing import Pairing
from groovebox.web.security import install_secret_filter
from groovebox.web.uploads import sweep_uploads

__all__ = ["Daemon", "DaemonOptions", "run_daemon"]

log = logging.getLogger(__name__)

_FADE_OUT_S = 0.06      # the master volume glides to 0 in about 30 ms


@dataclass(frozen=True)
class DaemonOptions:
    """Command-line choices that override settings for one run."""

    project_file: Path | None = None
    data_dir: Path | None = None
    serve_web: bool = True


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGINT/SIGTERM and shuts down in order."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


class Daemon:
    """One running groovebox: build it, ``await serve(stop)``, and it cleans up after itself."""

    def __init__(self, settings: Settings, options: DaemonOptions = DaemonOptions()) -> None:
        self.settings = settings
        self.options = options
        self.data_dir = options.data_dir or Path(settings.paths.data_dir or default_data_dir())
        self.front_panel = open_front_panel(settings)       # OLED and encoders (None when both are off)
        self.boot = BootGuard(self.data_dir)                 # crash counting: may start blank, and says why
        self.boot.assess(shift_held=self.front_panel is not None and self.front_panel.shift_held())
        self.save_lock = SaveLock(settings.project.save_lock)     # gig mode; the front panel turns it on/off
        self.projects = ProjectStore(self.data_dir, lock=self.save_lock)
        self.project, compiled = self._load_project()
        self.quantize = compiled.quantize
        self.engine = Engine(sample_rate=settings.audio.sample_rate, max_block_frames=max(2048, settings.audio.block_frames),
                             tempo_bpm=compiled.tempo_bpm, beats_per_bar=compiled.beats_per_bar,
                             pads=settings.engine.pads, ceiling_db=settings.engine.limiter_ceiling_db,
                             master_volume=compiled.master_volume)
        self.stretcher = Stretcher(self.engine.post, StretchCache(self.data_dir / "cache" / "stretch"),
                                   tempo_bpm=compiled.tempo_bpm, beat_now=lambda: float(self.engine.status[Status.BEAT]),
                                   beat_frame=self.engine.clock.grid_frame,
                                   beats_per_bar=compiled.beats_per_bar, sample_rate=settings.audio.sample_rate)
        for command in session_commands(compiled, settings.engine.metronome_volume):
            self.stretcher.post(command)
        self.editor = self._build_editor(compiled)
        generate = settings.generate
        self.generator = JobManager(self.data_dir / "generated", GeneratorConfig.from_settings(generate),
                                    workers=generate.workers, nice=generate.worker_nice, library_dir=self.data_dir)
        self.workers = idle_process_pool(1, generate.worker_nice)     # imports and exports
        self.exports = Exports(self.data_dir, self.workers, settings.audio.sample_rate)
        self.pairing = Pairing(self.data_dir / "tokens.json", pin_period_s=settings.web.pin_period_s,
                               on_pin=self._show_pin)
        self.audio: AudioBackend | None = None
        self.session: Session | None = None
        self.controllers: ControllerManager | None = None
        self.live: LivePad | None = None          # the live Lyria pad; None without a Gemini key
        self.recorder: PadRecorder | None = None  # recording into pads (after start_audio)
        self._midi: MidiBridge | None = None
        self._extra_clock_ports: dict[str, object] = {}
        self._api_key: str | None = None

    def _load_project(self) -> tuple[Project, CompiledProject]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        project_file = self.options.project_file
        # an explicit --project wins over the autosaved session (a corrupt one is set aside: start empty)
        self.restored = restore_session(self.data_dir, self.projects) if project_file is None else None
        if self.restored is not None:
            project = self.restored.project
        elif project_file is None:
            project = Project(bpm=self.settings.project.tempo_bpm, quantizeGrid=self.settings.project.quantize)
        else:
            project = load_project(project_file)
        # a restored session's pads are loaded by the editor, which starts without the audio it cannot find
        playable = project.replace(pads=[], tracks=[]) if self.restored is not None else project
        compiled = compile_project(playable, project_file, self.data_dir / "library", self.settings.audio.sample_rate)
        log.info("project %r: %d pads, %.2f BPM", project.project_name, len(project.pads), compiled.tempo_bpm)
        return project, compiled

    def _build_editor(self, compiled: CompiledProject) -> Editor:
        """The owner of the live project (undo, autosave); ``self.project`` follows it."""
        restored = self.restored
        origin = restored.origin if restored else Origin(project_file=self.options.project_file)
        saved = {"saved": restored.saved} if restored else {}
        editor = Editor(self.project, self.stretcher.post, library_dir=self.data_dir / "library",
                        loop_info=library_loop_info(self.data_dir), origin=origin, pad_count=len(self.engine.pads),
                        sample_rate=self.settings.audio.sample_rate,
                        metronome_volume=self.settings.engine.metronome_volume,
                        loaded=None if restored else compiled.pads, **saved)
        editor.listeners.append(self._project_changed)
        return editor

    def _project_changed(self, change: Change) -> None:
        self.project = change.project
        self.quantize = quantize_from_text(change.project.quantize_grid)
        if self.session is not None:
            self.session.quantize = self.quantize
            self.session.info.project_name = change.project.project_name

    def start_audio(self) -> Session:
        """Open the audio backend and start rendering; returns the live session."""
        audio_settings = self.settings.audio
        self.audio = open_audio(audio_settings.backend, sample_rate=audio_settings.sample_rate,
                                block_frames=audio_settings.block_frames, device=audio_settings.device or None,
                                client_name=audio_settings.jack_client_name,
                                autoconnect=audio_settings.jack_autoconnect, input=audio_settings.input,
                                ahead_blocks=audio_settings.ahead_blocks)
        self.audio.start(self.engine.render, self.engine.capture)
        warnings = list(self.editor.warnings)
        if audio_settings.backend == "auto" and self.audio.name == "null":
            warnings.append("no sound device: audio runs silently (null backend)")
        info = SessionInfo(audio_backend=self.audio.name, sample_rate=self.audio.sample_rate,
                           block_frames=self.audio.block_frames, project_name=self.project.project_name,
                           project_file=str(self.options.project_file) if self.options.project_file else None,
                           warnings=warnings)
        self.session = Session(self.engine, self.audio, info, quantize=self.quantize)
        self.recorder = PadRecorder(self.session, max_s=audio_settings.record_max_s,
                                    latency_frames=audio_settings.record_latency_frames, on_take=self._take_recorded,
                                    save_lock=self.save_lock)
        self.session.recorder = self.recorder
        self.session.editor = self.editor
        self.session.event_listeners.append(self.recorder.on_event)
        self.session.reporters["recording"] = self.recorder.describe
        self.session.mix_recorder = MixRecorder(self.session, self.data_dir / "recordings", audio_settings.sample_rate)
        self.session.song_recorder = SongRecorder(self.session, self.editor)
        self.session.event_listeners.append(self.session.song_recorder.on_event)
        self.session.scenes = ScenePlayer(self.session, self.editor, self.workers, self.data_dir,
                                          save_lock=self.save_lock)
        self.session.reporters["save_lock"] = lambda: self.save_lock.on
        log.info("audio: %s, %d Hz, %d frames per block", self.audio.name, self.audio.sample_rate,
                 self.audio.block_frames)
        return self.session

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set: audio, the session loop and (optionally) the web server."""
        self.generator.start_workers()               # forks before the audio starts
        start_pool(self.workers, 1)            # at SCHED_IDLE: not waited for
        session = self.start_audio()
        session.event_listeners.append(self.stretcher.on_event)     # tap tempo, Link, MIDI clock in
        self.boot.started()
        if self.boot.decision.reason:
            session.info.warnings.append(self.boot.decision.reason)
        self.start_controllers(asyncio.get_running_loop())
        self.start_live_pad()
        session.scenes.planner = functools.partial(plan_configured, settings=self.settings.ambient,
                                                   api_key=self._api_key)     # the key is known now
        if self._api_key:
            session.scenes.generator = GeneratorConfig.from_settings(self.settings.generate)
        tasks = [asyncio.create_task(session.run(stop), name="session"),
                 asyncio.create_task(self.generator.run(stop), name="generate"),
                 asyncio.create_task(self.stretcher.run(stop), name="stretch"),
                 asyncio.create_task(Autosaver(self.editor, self.data_dir / SESSION_FILE).run(stop), name="autosave")]
        if self.controllers is not None:
            clock = MidiClockOut(session, self._midi, self._clock_outputs)
            tasks.append(asyncio.create_task(clock.run(stop), name="midi-clock"))
        if self.settings.midi.clock_source == "link":
            tasks.append(asyncio.create_task(LinkSync(session).run(stop), name="link"))
        if self.live is not None:
            tasks.append(asyncio.create_task(self.live.run(stop), name="live-pad"))
        tasks.append(asyncio.create_task(self.exports.run(stop), name="exports"))
        if self.front_panel is not None:
            tasks.append(asyncio.create_task(self.front_panel.run(self, stop), name="front-panel"))
        server = None
        if self.options.serve_web:
            app = create_app(self.web_context())
            await warm_up(app)
            server = _Server(uvicorn.Config(app, host=self.settings.web.host,
                                            port=self.settings.web.port, log_level="warning", lifespan="off"))
            install_secret_filter([self._api_key] if self._api_key else [])     # after uvicorn set up logging
            tasks.append(asyncio.create_task(server.serve(), name="web"))
            tasks.append(asyncio.create_task(every(1.0, stop, self.pairing.pin), name="pairing-pin"))
        audio_progress = Progress(lambda: self.audio.stats.callbacks if self.audio is not None else 0)
        tasks.append(asyncio.create_task(SystemdNotifier.from_environ().run(
            stop, ready=lambda: server is None or server.started, status=lambda: f"playing {self.project.project_name}",
            healthy=audio_progress.advanced), name="systemd-notify"))        # watchdog pings from this loop
        gc.freeze()
        try:
            await _wait_first(stop, tasks)
        finally:
            stop.set()
            if session.mix_recorder.recording:
                await session.mix_recorder.stop()              # finish the file before the audio stops
            if server is not None:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            self.close()
        if server is not None and not server.started:
            raise OSError(f"web server could not listen on {self.settings.web.host}:{self.settings.web.port}")
        self.boot.stopped_cleanly()

    def web_context(self) -> WebContext:
        """What the HTTP API and the WebSocket reach (after ``start_audio`` and ``start_live_pad``)."""
        sweep_uploads(self.data_dir / "uploads")
        return WebContext(settings=self.settings, data_dir=self.data_dir, session=self.session, editor=self.editor,
                          projects=self.projects, generator=self.generator, live=self.live, pairing=self.pairing,
                          workers=self.workers, exports=self.exports)

    def _show_pin(self, pin: str) -> None:
        """A new pairing PIN: the log shows it (the OLED's system page reads it from ``pairing``)."""
        log.warning("pairing PIN for the phone page: %s (valid for %.0f s)", pin, self.settings.web.pin_period_s)

    def _clock_outputs(self) -> list:
        """Controllers that want clock, plus the configured extra ports (opened once, kept while present)."""
        names = self._midi.output_names()
        for pattern in self.settings.midi.clock_out_ports:
            for name in names:
                if re.search(pattern, name) and name not in self._extra_clock_ports:
                    self._extra_clock_ports[name] = self._midi.open_output(name)
        for name in [n for n in self._extra_clock_ports if n not in names]:
            self._extra_clock_ports.pop(name).close()
        return self.controllers.clock_outputs() + list(self._extra_clock_ports.values())

    def start_controllers(self, loop: asyncio.AbstractEventLoop) -> None:
        """Match and watch USB pad controllers. Without MIDI (no sequencer, no JACK) the daemon plays on."""
        midi = self.settings.midi
        if not midi.enabled:
            return
        profiles = load_profiles(midi.profiles_dir or default_profile_dir())
        try:
            self._midi = MidiBridge(midi.api, midi.poll_s)
        except MidiBridgeError as exc:
            log.warning("no MIDI (%s): pad controllers are disabled", exc)
            self.session.info.warnings.append(f"no MIDI: {exc}")
            return
        self.controllers = ControllerManager(self._midi, profiles, self.session, loop)
        self.session.reporters["controllers"] = self.controllers.describe
        if midi.clock_source and midi.clock_source != "link":
            clock_in = MidiClockIn(self.session, self._midi, midi.clock_source, loop)
            self.controllers.after_rescan.append(clock_in.rescan)
        self.controllers.start()

    def start_live_pad(self) -> None:
        """Make the live Lyria pad available when there is a Gemini key (it streams only once
        ``daemon.live.start(request)`` is called); ``session.live`` is what controller faders steer."""
        generate = self.settings.generate
        try:
            api_key = load_api_key(Path(generate.key_file))
        except ApiKeyError as exc:
            log.warning("live pad disabled: %s", exc)
            self.session.info.warnings.append(f"live pad disabled: {exc}")
            api_key = None
        self._api_key = api_key
        if not api_key:
            self.session.reporters["live_pad"] = lambda: {"available": False, "state": "off",
                                                          "error": "no usable Gemini API key"}
            return
        from groovebox.generate.live import LiveOptions, LiveStreamProcess  # google-genai: only with a key
        from groovebox.generate.lyria import LyriaEndpoint

        endpoint = LyriaEndpoint(base_url=generate.lyria_base_url or None, api_version=generate.lyria_api_version,
                                 model=generate.lyria_model)
        start_stream = functools.partial(LiveStreamProcess, api_key=api_key, endpoint=endpoint,
                                         options=LiveOptions(prebuffer_s=generate.live_prebuffer_s))
        pad = min(generate.live_pad, len(self.engine.pads) - 1)
        self.live = LivePad(self.session, start_stream, pad=pad, prebuffer_s=generate.live_prebuffer_s)
        self.session.live = self.live
        self.session.reporters["live_pad"] = self.live.describe
        self.live.listeners.append(self._live_message)

    def _live_message(self, message: dict) -> None:
        """A finished live capture becomes a library loop on its pad, through the editor (saved, undoable)."""
        if message.get("kind") != "live_capture" or message.get("state") != "done":
            return
        capture = next((capture for capture in reversed(self.live.captures)
                        if capture.state == "done" and capture.into_pad == message["into_pad"]), None)
        if capture is not None:
            asyncio.get_running_loop().create_task(self._store_take(
                capture.audio, capture.into_pad, capture.native_bpm, capture.bars, "live capture", "generated",
                ("live",)))

    def _take_recorded(self, take: RecordingDone) -> None:
        """A recording into a pad is complete (the pad already plays it): store it and assign it."""
        asyncio.get_running_loop().create_task(self._store_take(
            take.audio, take.pad, take.native_bpm, take.bars, "recording", "recorded", ("recorded",)))

    async def _store_take(self, audio, pad: int, native_bpm: float, bars: int, name: str, source: str,
                          tags: tuple[str, ...]) -> None:
        """A loop made live (a capture, a recording) becomes a library loop on its pad, through the editor
        (saved, undoable). Kept in memory only when that fails."""
        from groovebox.library.store import Library, LibraryError

        try:       # FLAC encoding and analysis in the idle worker pool, not in the daemon
            with Library(self.data_dir) as library:
                record = await asyncio.wrap_future(self.workers.submit(
                    library.add, audio, name=f"{name} {time.strftime('%H:%M:%S')}", source=source, tags=tags,
                    bpm=native_bpm, bars=bars))
            self.editor.apply(AssignPad(pad_index=pad, loop_id=record.loop_id, native_bpm=native_bpm,
                                        pad_name=name))
        except (LibraryError, EditError, OSError) as exc:
            log.warning("%s on pad %d kept in memory only: %s", name, pad, exc)

    def close(self) -> None:
        """Fade the master out (so stopping the service does not pop), then stop the audio; safe to call twice."""
        if self.controllers is not None:
            self.controllers.stop()
            self.controllers = None
        if self._midi is not None:
            self._midi.close()
            self._midi = None
        if self.audio is not None:
            self.engine.post(c.SetMaster(0.0))
            time.sleep(_FADE_OUT_S)
            self.audio.stop()
            self.audio = None
        if self.live is not None:
            self.live.close()                        # after the audio: the engine no longer reads the ring
        self.workers.shutdown(wait=False, cancel_futures=True)
        self.pairing.close()
        if self.front_panel is not None:
            self.front_panel.close()


async def _wait_first(stop: asyncio.Event, tasks: list[asyncio.Task]) -> None:
    """Return when ``stop`` is set or any task ends (a task that ends on its own is a failure)."""
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    for task in done:
        if task is not stopper and task.exception() is not None:
            raise task.exception()


def run_daemon(settings: Settings, options: DaemonOptions) -> int:
    """``groovebox run``: serve until SIGINT/SIGTERM. Returns the process exit code."""
    sys.setswitchinterval(0.001)     # the audio callback needs the GIL back within a millisecond
    use_journal_levels()             # under systemd: journald sees each line's level
    daemon = Daemon(settings, options)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await daemon.serve(stop)

    try:
        asyncio.run(main())
    finally:
        daemon.close()
    log.info("stopped cleanly")
    return 0
