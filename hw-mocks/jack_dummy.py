#!/usr/bin/env python3
"""Start a JACK server with the dummy driver: a sound card stand-in for machines without one.

    .venv/bin/python hw-mocks/jack_dummy.py --name gb          # prints the environment to use, Ctrl-C stops
    JACK_DEFAULT_SERVER=gb JACK_NO_START_SERVER=1 .venv/bin/groovebox run --audio jack

The daemon then really plays through JACK (real callbacks, real xrun accounting), silently. Tests and
``groovebox bench soak`` use the same class (``groovebox.hw.jackserver.DummyJackServer``).
"""

import argparse
import signal

from groovebox.hw.jackserver import DummyJackServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="groovebox-dummy", help="JACK server name")
    parser.add_argument("--block", type=int, default=256, help="frames per period")
    args = parser.parse_args()
    with DummyJackServer(name=args.name, block_frames=args.block) as server:
        exports = " ".join(f"{key}={value}" for key, value in server.env.items())
        print(f"JACK dummy server {args.name!r} running (48 kHz, {args.block} frames). Use:\n  export {exports}",
              flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
        print(f"stopping; {server.xruns} xruns logged")


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    main()
