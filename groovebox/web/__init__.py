"""The daemon's HTTP API (FastAPI), served by uvicorn on the control loop."""

from groovebox.web.api import create_app, warm_up

__all__ = ["create_app", "warm_up"]
