"""The front-panel OLED: the only module that imports luma (imported lazily, so laptops without it still run).

``open_oled(settings)`` returns a luma device (SSD1306 or SH1106 over I2C or SPI, or luma's in-memory
``dummy``) or None when ``[display] driver = "none"``. Whatever it returns has ``display(image)`` with a
PIL image of ``size``/``mode``; the display thread (``groovebox.display.screen``) is its only caller.
Decisions: a chip that cannot be opened (no I2C bus, wrong address) is an ``OledError`` the caller logs and
then runs without a display: the groovebox must still play.
"""

from __future__ import annotations

__all__ = ["OledError", "open_oled"]


class OledError(RuntimeError):
    """The configured OLED cannot be opened."""


def open_oled(settings):
    """A luma device for ``settings`` (a ``DisplaySettings``), or None when the display is off."""
    if settings.driver == "none":
        return None
    if settings.driver == "dummy":
        from luma.core.device import dummy

        return dummy(width=128, height=64, rotate=settings.rotate, mode="1")
    from luma.core.error import DeviceNotFoundError, DevicePermissionError
    from luma.oled.device import sh1106, ssd1306

    chip = {"ssd1306": ssd1306, "sh1106": sh1106}[settings.driver]
    try:
        return chip(_serial(settings), width=128, height=64, rotate=settings.rotate)
    except (DeviceNotFoundError, DevicePermissionError, OSError) as exc:
        raise OledError(f"{settings.driver} OLED over {settings.interface}: {exc}") from None


def _serial(settings):
    from luma.core.interface.serial import i2c, spi

    if settings.interface == "spi":
        return spi(port=settings.spi_port, device=settings.spi_device, gpio_DC=settings.gpio_dc,
                   gpio_RST=settings.gpio_reset)
    return i2c(port=settings.i2c_port, address=settings.i2c_address)
