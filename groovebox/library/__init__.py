"""The loop library domain: loop storage and metadata, import and analysis, decoding audio into engine buffers.

No threads and no hardware: the control loop and worker processes call these functions.

    library = Library(data_dir)                        # <data_dir>/groovebox.db + <data_dir>/library/<id>.flac
    record = import_file(library, "break_92.wav")      # decode, conform, analyse, store (a worker's job)
    library.list(search="break", category="drums")     # newest first
    library.update(record.loop_id, bpm=184)            # user corrections
    library.delete(record.loop_id, referenced_by=projects_using)
"""

import importlib

# Names resolve on first use (PEP 562): the daemon imports ``groovebox.library.decode`` at start-up and must
# not pay for the analysis stack (scipy, pyloudnorm) until an import or a capture needs it.
_EXPORTS = {
    "AudioFileError": "decode", "load_audio": "decode",
    "Library": "store", "LibraryError": "store", "LoopInUse": "store", "LoopNotFound": "store",
    "LoopRecord": "store",
    "import_file": "importer", "MAX_IMPORT_BYTES": "importer", "MAX_IMPORT_SECONDS": "importer",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'groovebox.library' has no attribute {name!r}")
    return getattr(importlib.import_module(f"groovebox.library.{_EXPORTS[name]}"), name)
