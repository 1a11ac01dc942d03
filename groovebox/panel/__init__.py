"""The front panel: encoders and buttons drive a menu model (``Panel``) whose pages the OLED shows.

No hardware imports: ``groovebox.hw.gpio`` reports inputs and the app hands them to ``Panel.handle`` on
the control loop."""

from groovebox.panel.panel import Panel, PanelDeps
from groovebox.panel.screens import LoopChoice

__all__ = ["LoopChoice", "Panel", "PanelDeps"]
