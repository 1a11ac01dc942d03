"""Running as an appliance: crash counting and the clean-shutdown flag (``bootguard``), systemd
readiness and watchdog (``notify``), the front panel wiring (``frontpanel``), journald levels
(``journal``), and the ``groovebox status`` / ``bench startup`` commands."""
