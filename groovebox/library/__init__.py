"""The loop library domain: decoding audio files into engine buffers (loop storage and metadata to come).

No threads and no hardware: the control thread and worker processes call these functions.
"""

from groovebox.library.decode import AudioFileError, load_audio

__all__ = ["AudioFileError", "load_audio"]
