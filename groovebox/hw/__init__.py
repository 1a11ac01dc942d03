"""Hardware edges: the only package that imports sounddevice and JACK-Client (imported lazily).

``open_audio(kind)`` returns an ``AudioBackend`` (portaudio, jack, null or offline) that calls a renderer
``render(out, frames)`` once per block. ``groovebox.hw.jackserver`` starts a private dummy JACK server for
tests and benchmarks.
"""

from groovebox.hw.audio import (
    BACKEND_KINDS,
    AudioBackend,
    AudioError,
    AudioStats,
    JackBackend,
    NullBackend,
    OfflineBackend,
    PortAudioBackend,
    list_audio_devices,
    open_audio,
)

__all__ = [
    "BACKEND_KINDS",
    "AudioBackend",
    "AudioError",
    "AudioStats",
    "JackBackend",
    "NullBackend",
    "OfflineBackend",
    "PortAudioBackend",
    "list_audio_devices",
    "open_audio",
]
