"""The daemon's HTTP API (FastAPI), served by uvicorn on the control loop."""

from groovebox.web.api import create_app

__all__ = ["create_app"]
