"""The front-panel OLED pages: what each page shows (``views``), how it is drawn (``pages``) and the
display thread that pushes frames to a device (``screen``). No hardware imports: the device comes from
``groovebox.hw.oled`` and only needs ``display(image)``."""

from groovebox.display.pages import HEIGHT, WIDTH, render
from groovebox.display.screen import DisplayThread
from groovebox.display.views import (
    ErrorView,
    GenerateView,
    HomeView,
    LayerRow,
    ListView,
    PadView,
    Row,
    SceneView,
    SystemView,
    View,
)

__all__ = [
    "HEIGHT",
    "WIDTH",
    "DisplayThread",
    "ErrorView",
    "GenerateView",
    "HomeView",
    "LayerRow",
    "ListView",
    "PadView",
    "Row",
    "SceneView",
    "SystemView",
    "View",
    "render",
]
