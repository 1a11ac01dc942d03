"""Settings: built-in defaults, then ``/etc/groovebox/groovebox.toml``, then ``--config FILE``.

Loaded once on the main thread at start-up into frozen pydantic models and passed explicitly; nothing reads
the environment at import time. ``config/groovebox.toml`` in the repository lists every default (a test
keeps it equal to these models). A bad value fails at start with the file and the field path.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["SYSTEM_CONFIG", "ConfigError", "Settings", "default_data_dir", "load_settings"]

SYSTEM_CONFIG = Path("/etc/groovebox/groovebox.toml")


class ConfigError(ValueError):
    """A configuration file is unreadable or holds a bad value; the message names file and field."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AudioSettings(_Section):
    backend: Literal["auto", "portaudio", "jack", "null"] = "auto"
    device: str = Field("", description="PortAudio output device name (substring) or index; empty = default")
    sample_rate: Literal[48000] = 48000
    block_frames: int = Field(256, ge=32, le=2048)
    ahead_blocks: int = Field(3, ge=0, le=16,
                              description="PortAudio: blocks the engine renders ahead into a ring that a C callback "
                                          "plays, so a busy Python never gaps the sound (adds about "
                                          "ahead_blocks - 0.5 blocks of latency); 0 = render in the callback")
    jack_client_name: str = Field("groovebox", min_length=1, max_length=60)
    jack_autoconnect: bool = True
    input: bool = Field(True, description="record from the audio input (JACK in_1/in_2, or the PortAudio device's "
                                          "input); output only, with a warning, when there is none")
    record_latency_frames: int = Field(-1, ge=-1, le=48000,
                                       description="round-trip latency taken off recordings (frames); "
                                                   "-1 = what the backend reports")
    record_max_s: float = Field(120.0, ge=5.0, le=600.0,
                                description="longest recording into a pad (s); memory for it is kept while armed")


class EngineSettings(_Section):
    pads: Literal[16, 32, 48, 64] = Field(64, description="pad voices: 1 to 4 banks of 16")
    limiter_ceiling_db: float = Field(-0.3, ge=-24.0, lt=0.0)
    metronome_volume: float = Field(0.5, ge=0.0, le=1.0)


class ProjectSettings(_Section):
    tempo_bpm: float = Field(120.0, ge=20.0, le=400.0)
    quantize: Literal["off", "1/16", "1/8", "1/4", "1/2", "1 bar", "2 bars", "4 bars"] = "1 bar"
    save_lock: bool = Field(False, description="gig mode: saved projects and the loop library cannot be changed or "
                                               "deleted (the live session still autosaves)")


class MidiSettings(_Section):
    enabled: bool = True
    api: Literal["auto", "alsa", "jack"] = "auto"
    poll_s: float = Field(0.5, ge=0.05, le=1.0)
    profiles_dir: str = Field("", description="empty = config/controllers next to the package")
    clock_source: str = Field("", description='empty = internal clock; "link" = Ableton Link; '
                              "else a regex: follow that input port's MIDI clock")
    clock_out_ports: list[str] = Field(default_factory=list, description="regexes of extra ports to send clock to")


class GenerateSettings(_Section):
    engine: Literal["auto", "lyria", "offline"] = Field(
        "auto", description="auto = Lyria when a key is set and reachable, else the offline generator")
    key_file: str = Field("/etc/groovebox/gemini-api-key",
                          description="read when GEMINI_API_KEY is unset; must be readable by its owner only")
    lyria_base_url: str = Field("", description="empty = Google's endpoint")
    lyria_api_version: str = "v1alpha"
    lyria_model: str = "models/lyria-realtime-exp"
    workers: int = Field(1, ge=1, le=4, description="generation jobs that run at once (one process each)")
    worker_nice: int = Field(10, ge=0, le=19, description="nice level of worker processes (the audio comes first)")
    live_pad: int = Field(15, ge=0, le=63, description="the pad that plays the live Lyria stream (Prompt DJ)")
    live_prebuffer_s: float = Field(2.0, ge=0.5, le=8.0,
                                    description="live stream audio buffered ahead of the playing position (s)")


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    upload_max_mb: int = Field(100, ge=1, le=2000, description="largest loop upload accepted (MB)")
    pin_period_s: float = Field(120.0, ge=10.0, le=3600.0, description="how long a pairing PIN stays valid (s)")
    allowed_origins: list[str] = Field(default_factory=list,
                                       description="extra Origins allowed to change state (the page's own always is)")
    requests_per_s: float = Field(50.0, ge=1.0, le=10000.0, description="per-client request rate (burst: 2 s worth)")


class DisplaySettings(_Section):
    driver: Literal["none", "ssd1306", "sh1106", "dummy"] = Field(
        "none", description="the OLED chip; dummy keeps frames in memory (tests, laptops)")
    interface: Literal["i2c", "spi"] = "i2c"
    i2c_port: int = Field(1, ge=0, le=10)
    i2c_address: int = Field(0x3C, ge=0x03, le=0x77)
    spi_port: int = Field(0, ge=0, le=1)
    spi_device: int = Field(0, ge=0, le=1)
    gpio_dc: int = Field(24, ge=0, le=27, description="SPI only: data/command pin (BCM)")
    gpio_reset: int = Field(25, ge=0, le=27, description="SPI only: reset pin (BCM)")
    rotate: int = Field(0, ge=0, le=3, description="quarter turns")
    max_fps: float = Field(20.0, ge=1.0, le=20.0, description="redraws only on change, at most this often")


class PanelSettings(_Section):
    enabled: bool = Field(False, description="GPIO encoders and buttons (BCM pin numbers below)")
    value_a: int = Field(5, ge=0, le=27)
    value_b: int = Field(6, ge=0, le=27)
    value_push: int = Field(13, ge=0, le=27)
    tempo_a: int = Field(19, ge=0, le=27)
    tempo_b: int = Field(26, ge=0, le=27)
    tempo_push: int = Field(12, ge=0, le=27)
    volume_a: int = Field(16, ge=0, le=27)
    volume_b: int = Field(20, ge=0, le=27)
    volume_push: int = Field(21, ge=0, le=27)
    shift: int = Field(4, ge=0, le=27)
    play: int = Field(17, ge=0, le=27)
    tap: int = Field(27, ge=0, le=27)
    record: int = Field(22, ge=0, le=27)
    bounce_s: float = Field(0.01, ge=0.0, le=0.2, description="button debounce (s)")


class AmbientSettings(_Section):
    """Which scene planner to use and how to reach it (the ``[ambient]`` section of the config)."""

    planner: Literal["auto", "gemini", "openai", "offline"] = Field(
        "auto", description="auto: Gemini when a key is set, else the OpenAI-compatible server when configured, "
                            "else offline; gemini/openai: only that one (offline when it fails)")
    gemini_model: str = Field("gemini-2.5-flash", min_length=1, description="Gemini text model for scene plans")
    gemini_base_url: str = Field("", pattern=r"^(https?://\S+)?$", description="empty = Google's endpoint")
    gemini_api_version: str = Field("v1beta", min_length=1)
    openai_base_url: str = Field("", pattern=r"^(https?://\S+)?$",
                                 description='OpenAI-compatible API root, e.g. "http://127.0.0.1:8080/v1" '
                                             '(llama.cpp) or "http://localhost:11434/v1" (Ollama); empty = none')
    openai_model: str = Field("", description="model name the server knows, e.g. qwen2.5:7b-instruct")
    openai_api_key_env: str = Field("OPENAI_API_KEY", min_length=1,
                                    description="environment variable holding the server's key (may be unset)")
    timeout_s: float = Field(20.0, gt=0.0, le=120.0,
                             description="longest wait for one planner's answer (s); auto may try two in turn")


class PathSettings(_Section):
    data_dir: str = Field("", description="empty = $STATE_DIRECTORY (systemd), else $XDG_DATA_HOME/groovebox")


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"


class Settings(_Section):
    """Every setting the daemon reads. Sections mirror ``config/groovebox.toml``."""

    hw: Literal["real", "mock"] = "real"
    audio: AudioSettings = AudioSettings()
    engine: EngineSettings = EngineSettings()
    project: ProjectSettings = ProjectSettings()
    midi: MidiSettings = MidiSettings()
    generate: GenerateSettings = GenerateSettings()
    web: WebSettings = WebSettings()
    display: DisplaySettings = DisplaySettings()
    panel: PanelSettings = PanelSettings()
    ambient: AmbientSettings = AmbientSettings()
    paths: PathSettings = PathSettings()
    log: LogSettings = LogSettings()


def load_settings(config_file: str | Path | None = None, system_file: Path = SYSTEM_CONFIG,
                  overrides: dict[str, Any] | None = None) -> Settings:
    """Merge defaults, the system file (if present), ``config_file`` (must exist) and CLI ``overrides``."""
    merged: dict[str, Any] = {}
    sources = []
    if system_file.is_file():
        sources.append(system_file)
    if config_file is not None:
        sources.append(Path(config_file))
    for path in sources:
        _merge(merged, _read_toml(path))
    _merge(merged, overrides or {})
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        where = ", ".join(str(p) for p in sources) or "settings"
        raise ConfigError(_describe(where, exc)) from None


def default_data_dir() -> Path:
    """Where data lives when ``paths.data_dir`` is empty (systemd's StateDirectory, else XDG)."""
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0])
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "groovebox"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _describe(where: str, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        lines.append(f"{where}: {field}: {error['msg']}")
    return "\n".join(lines)
