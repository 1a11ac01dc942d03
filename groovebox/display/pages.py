"""Draw a view (``groovebox.display.views``) as a 128x64 one-bit PIL image. Runs on the display thread.

Decisions: PIL's built-in bitmap font (6 px wide, 21 characters a line) is used on purpose: it needs no
font file and draws the same pixels on every Pillow version, so golden images stay exact. Every page has
an inverted title bar and at most five lines under it; lists scroll to keep the cursor visible, the
selected row is inverted, and a value being turned is shown in brackets. The scene page lists its layers
as the kind, a level bar (the pad's volume, what the performer sets; drift's wander is not drawn, so the
page redraws only on a change) and "~" for a drifting layer, then the scene actions; a running fade-out
shows as "FADE m:ss" in its title bar. Save-lock (gig mode) shows as
"LOCK" at the right of the home and system title bars (on home, a held Shift shows "SHIFT" instead: it
lasts only while held).
"""

from __future__ import annotations

from functools import cache

from PIL import Image, ImageDraw, ImageFont

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

__all__ = ["CHARS", "HEIGHT", "WAVE_HEIGHT", "WIDTH", "render"]

WIDTH, HEIGHT = 128, 64
LINE_PX = 10
CHAR_PX = 6
CHARS = WIDTH // CHAR_PX          # 21
BODY_Y = 11
VISIBLE_ROWS = 5
WAVE_HEIGHT = 14
SCENE_ROWS = 4                    # under the title bar and the scene's title line
LAYER_CHARS = 11                  # a layer's kind, then its level bar ...
LEVEL_X0, LEVEL_X1 = 70, 114      # ... then "~" when it drifts


@cache
def _font() -> ImageFont.ImageFont:
    return ImageFont.load_default_imagefont()


def render(view: View) -> Image.Image:
    """The frame for ``view``: mode "1", WIDTH x HEIGHT."""
    image = Image.new("1", (WIDTH, HEIGHT), 0)
    draw = ImageDraw.Draw(image)
    _DRAWERS[type(view)](draw, view)
    return image


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, fill: int = 1) -> None:
    draw.text(xy, text, fill=fill, font=_font())


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:max(chars - 1, 0)] + "~"


def _title(draw: ImageDraw.ImageDraw, title: str, right: str = "") -> None:
    draw.rectangle((0, 0, WIDTH - 1, LINE_PX - 1), fill=1)
    _text(draw, (1, -1), _fit(title, CHARS - len(right) - 1), fill=0)
    if right:
        _text(draw, (WIDTH - 1 - CHAR_PX * len(right), -1), right, fill=0)


def _bar(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], fraction: float, ink: int = 1) -> None:
    """An outlined horizontal bar filled to ``fraction`` (clamped to 0..1), drawn in ``ink``."""
    x0, y0, x1, y1 = box
    draw.rectangle(box, outline=ink)
    filled = round((x1 - x0 - 2) * min(max(fraction, 0.0), 1.0))
    if filled > 0:
        draw.rectangle((x0 + 1, y0 + 1, x0 + filled, y1 - 1), fill=ink)


def _rows(draw: ImageDraw.ImageDraw, rows: tuple[Row, ...], cursor: int, editing: bool, top_y: int,
          visible: int) -> None:
    """A scrolling list; the cursor row is inverted, a value being edited is bracketed."""
    first = _first_row(len(rows), cursor, visible)
    for line, index in enumerate(range(first, min(first + visible, len(rows)))):
        row, y = rows[index], top_y + line * LINE_PX
        value = f"[{row.value}]" if editing and index == cursor and row.value else row.value
        text = _fit(row.label, CHARS - len(value) - 2).ljust(CHARS - len(value) - 1) + value
        ink = _selection(draw, y, index == cursor)
        _text(draw, (1, y - 1), text, fill=ink)
    _scroll_mark(draw, first, len(rows), top_y, visible)


def _first_row(count: int, cursor: int, visible: int) -> int:
    """The first row shown of a list of ``count`` so that the cursor row is visible."""
    return min(max(cursor - visible + 1, 0), max(count - visible, 0))


def _selection(draw: ImageDraw.ImageDraw, y: int, selected: bool) -> int:
    """Invert the row at ``y`` when it is selected; the ink to draw on it."""
    if selected:
        draw.rectangle((0, y, WIDTH - 1, y + LINE_PX - 1), fill=1)
    return 0 if selected else 1


def _scroll_mark(draw: ImageDraw.ImageDraw, first: int, count: int, top_y: int, visible: int) -> None:
    """A mark on the right edge when the list is longer than the screen."""
    if count > visible:
        span = HEIGHT - top_y
        mark_y = top_y + round(span * first / count)
        draw.line((WIDTH - 1, mark_y, WIDTH - 1, mark_y + max(2, span * visible // count)), fill=1)


def _lines(draw: ImageDraw.ImageDraw, lines: list[str], top_y: int = BODY_Y) -> None:
    for number, line in enumerate(lines):
        _text(draw, (1, top_y + number * LINE_PX - 1), _fit(line, CHARS))


def _wrap(text: str, chars: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= chars:
            lines[-1] += " " + word
        else:
            lines.extend(word[i:i + chars] for i in range(0, len(word), chars))
    return lines


# ---------------------------------------------------------------------- pages
def _home(draw: ImageDraw.ImageDraw, view: HomeView) -> None:
    _title(draw, view.project, "SHIFT" if view.shift else "LOCK" if view.save_lock else "")
    tempo = f"{view.tempo_bpm:.1f}".rstrip("0").rstrip(".")
    _text(draw, (1, BODY_Y - 1), f"{tempo} BPM")
    position = f"{view.bar}.{view.beat}"
    _text(draw, (WIDTH - 1 - CHAR_PX * len(position), BODY_Y - 1), position)
    state = f"PLAY {view.playing_pads} pad{'s' if view.playing_pads != 1 else ''}" if view.playing_pads else "STOP"
    _lines(draw, [state, f"Q {view.quantize}", f"clock {view.clock}"], BODY_Y + LINE_PX)
    _bar(draw, (0, 52, WIDTH - 1, 56), view.peak_l)     # master meter: left over right
    _bar(draw, (0, 58, WIDTH - 1, 62), view.peak_r)


def _pad(draw: ImageDraw.ImageDraw, view: PadView) -> None:
    _title(draw, f"PAD {view.pad} {view.name}", view.state)
    base_y = BODY_Y + WAVE_HEIGHT
    if view.waveform:
        middle = BODY_Y + WAVE_HEIGHT // 2
        for x, height in enumerate(view.waveform[:WIDTH]):
            half = max(height // 2, 0)
            draw.line((x, middle - half, x, middle + half), fill=1)
    else:
        _text(draw, (1, BODY_Y + 1), "empty pad")
    _rows(draw, view.rows, view.cursor, view.editing, base_y + 1, 3)


def _generate(draw: ImageDraw.ImageDraw, view: GenerateView) -> None:
    _title(draw, "GENERATE")
    if view.percent is None:
        _text(draw, (1, BODY_Y - 1), _fit(view.prompt or "-", CHARS))
        _rows(draw, view.rows, view.cursor, view.editing, BODY_Y + LINE_PX, 4)
        return
    _lines(draw, _wrap(view.prompt, CHARS)[:2])
    _text(draw, (1, BODY_Y + 2 * LINE_PX + 1), _fit(view.stage, CHARS - 5))
    percent = f"{view.percent:.0f}%"
    _text(draw, (WIDTH - 1 - CHAR_PX * len(percent), BODY_Y + 2 * LINE_PX + 1), percent)
    _bar(draw, (0, 48, WIDTH - 1, 58), view.percent / 100)


def _list(draw: ImageDraw.ImageDraw, view: ListView) -> None:
    _title(draw, view.title, view.note)
    if not view.rows:
        _text(draw, (1, BODY_Y - 1), "(nothing here yet)")
        return
    _rows(draw, view.rows, view.cursor, view.editing, BODY_Y, VISIBLE_ROWS)


def _system(draw: ImageDraw.ImageDraw, view: SystemView) -> None:
    _title(draw, "SYSTEM", "LOCK" if view.save_lock else "")
    _lines(draw, [f"IP {view.ip}", f"PIN {view.pin}  {view.pin_expires_s}s", f"WiFi {view.wifi}",
                  f"Lyria {view.lyria}", f"CPU {view.cpu_percent}%  xrun {view.underruns}"])


def _scene(draw: ImageDraw.ImageDraw, view: SceneView) -> None:
    right = view.state if view.fade_left_s is None else f"FADE {_clock(view.fade_left_s)}"
    _title(draw, "SCENE", right)
    if view.building:
        seconds = f"{view.building_s}s"
        _text(draw, (1, BODY_Y - 1), _fit(f"building {view.building}", CHARS - len(seconds) - 1))
        _text(draw, (WIDTH - 1 - CHAR_PX * len(seconds), BODY_Y - 1), seconds)
    else:
        _text(draw, (1, BODY_Y - 1), _fit(view.title or "no scene loaded", CHARS))
    top_y = BODY_Y + LINE_PX
    first = _first_row(len(view.rows), view.cursor, SCENE_ROWS)
    for line, index in enumerate(range(first, min(first + SCENE_ROWS, len(view.rows)))):
        row, y = view.rows[index], top_y + line * LINE_PX
        ink = _selection(draw, y, index == view.cursor)
        if isinstance(row, LayerRow):
            _layer(draw, y, row, ink)
        else:
            _text(draw, (1, y - 1), _fit(row.label, CHARS), fill=ink)
    _scroll_mark(draw, first, len(view.rows), top_y, SCENE_ROWS)


def _layer(draw: ImageDraw.ImageDraw, y: int, row: LayerRow, ink: int) -> None:
    """A scene layer: its kind, a level bar (the pad's volume) and "~" when it drifts."""
    _text(draw, (1, y - 1), row.kind.replace("_", " ")[:LAYER_CHARS], fill=ink)    # cut, not "~": that is drift
    _bar(draw, (LEVEL_X0, y + 2, LEVEL_X1, y + LINE_PX - 3), row.level, ink)
    if row.drift > 0:
        _text(draw, (LEVEL_X1 + 4, y - 1), "~", fill=ink)


def _clock(seconds: int) -> str:
    """``seconds`` as m:ss (minutes unbounded: a fade may last hours)."""
    return f"{seconds // 60}:{seconds % 60:02d}"


def _error(draw: ImageDraw.ImageDraw, view: ErrorView) -> None:
    _title(draw, f"! {view.title}")
    lines = _wrap(view.message, CHARS)
    _lines(draw, lines[:4] if len(lines) <= 4 else [*lines[:3], _fit(lines[3], CHARS - 1) + "~"])
    _text(draw, (1, BODY_Y + 4 * LINE_PX - 1), "push: OK".rjust(CHARS))


_DRAWERS = {HomeView: _home, PadView: _pad, GenerateView: _generate, ListView: _list, SystemView: _system,
            SceneView: _scene, ErrorView: _error}
