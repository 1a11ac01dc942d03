"""The loop library domain: loop storage and metadata, import and analysis, decoding audio into engine buffers.

No threads and no hardware: the control loop and worker processes call these functions.

    library = Library(data_dir)                        # <data_dir>/groovebox.db + <data_dir>/library/<id>.flac
    record = import_file(library, "break_92.wav")      # decode, conform, analyse, store (a worker's job)
    library.list(search="break", category="drums")     # newest first
    library.update(record.loop_id, bpm=184)            # user corrections
    library.delete(record.loop_id, referenced_by=projects_using)
"""

from groovebox.library.decode import AudioFileError, load_audio
from groovebox.library.importer import MAX_IMPORT_BYTES, MAX_IMPORT_SECONDS, import_file
from groovebox.library.store import (
    Library,
    LibraryError,
    LoopInUse,
    LoopNotFound,
    LoopRecord,
)

__all__ = [
    "AudioFileError",
    "load_audio",
    "Library",
    "LibraryError",
    "LoopInUse",
    "LoopNotFound",
    "LoopRecord",
    "import_file",
    "MAX_IMPORT_BYTES",
    "MAX_IMPORT_SECONDS",
]
