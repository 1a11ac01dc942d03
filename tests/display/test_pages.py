"""Every OLED page against a golden PNG, and the display thread drawing on luma's dummy device.

Regenerate the PNGs after an intended change with ``GROOVEBOX_UPDATE_GOLDEN=1 pytest tests/display`` and
look at them before committing."""

import os
from pathlib import Path

import pytest
from luma.core.device import dummy
from PIL import Image, ImageChops

from groovebox.display import (
    HEIGHT,
    WIDTH,
    DisplayThread,
    ErrorView,
    GenerateView,
    HomeView,
    LayerRow,
    ListView,
    PadView,
    Row,
    SceneView,
    SystemView,
    render,
)
from groovebox.display.pages import BODY_Y, LEVEL_X0, LEVEL_X1, LINE_PX, WAVE_HEIGHT

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("GROOVEBOX_UPDATE_GOLDEN") == "1"

SCENE_ROWS = (Row("Stop"), LayerRow("neon", 0.4, 0.25), LayerRow("footsteps_wet", 0.25, 0.1),
              LayerRow("drizzle", 0.32, 0.0), LayerRow("traffic", 0.08, 0.25), LayerRow("hvac", 0.2, 0.25),
              Row("New scene"), Row("Saved scenes"), Row("Fade 15 min"), Row("Fade 30 min"), Row("Fade 60 min"))
WAVE = tuple(round(WAVE_HEIGHT * abs(((x * 7) % 32) - 16) / 16) for x in range(WIDTH))
PAGES = {
    "home": HomeView("Night set", 122.5, 3, 2, 4, "1 bar", "internal", 0.72, 0.55),
    "home_stopped_shift": HomeView("Untitled", 90.0, 1, 1, 0, "off", "Link", 0.0, 0.0, shift=True),
    "pad": PadView(3, "acid bass", "PLAY", WAVE, (Row("Pad", "3"), Row("Launch"), Row("Stop"), Row("Volume", "80%")),
                   cursor=3, editing=True),
    "pad_empty": PadView(16, "", "", (), (Row("Pad", "16"), Row("Launch"), Row("Stop")), cursor=0),
    "generate": GenerateView("dreamy house piano", (Row("Genre", "house"), Row("Instrument", "piano"),
                                                    Row("Mood", "dreamy"), Row("Key", "C/Am"), Row("Bars", "4"),
                                                    Row("Options", "1"), Row("Generate!")), cursor=4, editing=True),
    "generate_progress": GenerateView("dreamy house piano", percent=42.0, stage="rendering"),
    "library": ListView("LIBRARY", tuple(Row(f"loop {n} dusty boom bap") for n in range(1, 9)), cursor=6, note="8"),
    "library_empty": ListView("LIBRARY", (), note="0"),
    "menu": ListView("MENU", (Row("Pad"), Row("Generate"), Row("Library"), Row("Scene"), Row("System"), Row("Home")),
                     cursor=1),
    "system": SystemView("192.168.1.23", "482913", 97, "wlan0 up", "offline generator", 23, 2),
    "system_locked": SystemView("192.168.1.23", "482913", 97, "wlan0 up", "offline generator", 23, 2,
                                save_lock=True),
    "home_locked": HomeView("Night set", 122.5, 3, 2, 4, "1 bar", "internal", 0.72, 0.55, save_lock=True),
    "save_lock": ListView("SAVE-LOCK", (Row("Keep it OFF"), Row("Turn it ON")), cursor=0, note="OFF"),
    "scene": SceneView("Neon back-alley", "PLAY", SCENE_ROWS, cursor=2),
    "scene_fade": SceneView("Neon back-alley", "PLAY", SCENE_ROWS, cursor=8, fade_left_s=14 * 60 + 7),
    "scene_empty": SceneView("", "", (Row("New scene"), Row("Saved scenes"))),
    "scene_building": SceneView("", "", (Row("New scene"), Row("Saved scenes")), building="Storm at sea",
                                building_s=3),
    "scene_layer": ListView("LAYER 2 footsteps wet", (Row("Level", "25%"), Row("Drift", "10%"), Row("Pan", "L30")),
                            cursor=0, editing=True),
    "new_scene": ListView("NEW SCENE", (Row("Length", "30 s"), Row("City at night"), Row("Neon back-alley"),
                                        Row("Café"), Row("Rainy café"), Row("Forest at dawn")), cursor=1, note="36"),
    "error": ErrorView("Started blank", "3 crashes within 60 s: started with an empty session (the last one is "
                       "kept as session.json.blank-20250101-120000)"),
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_matches_its_golden_image(name):
    image = render(PAGES[name])
    assert image.size == (WIDTH, HEIGHT) and image.mode == "1"
    golden = GOLDEN / f"{name}.png"
    if UPDATE:
        image.save(golden)
    assert golden.exists(), f"no golden image {golden.name}: run with GROOVEBOX_UPDATE_GOLDEN=1"
    difference = differing_box(image, Image.open(golden))
    assert difference is None, f"{name} differs from {golden.name} in {difference}"


def differing_box(image, other):
    """The box where two one-bit frames differ (None: identical)."""
    return ImageChops.difference(image.convert("L"), other.convert("L")).getbbox()


def test_pages_that_differ_in_content_differ_in_pixels():
    images = {name: render(view).tobytes() for name, view in PAGES.items()}
    assert len(set(images.values())) == len(images)
    assert all(any(image) for image in images.values())        # nothing renders blank


def test_the_display_thread_draws_only_when_the_view_changes():
    device = dummy(width=WIDTH, height=HEIGHT, mode="1")
    display = DisplayThread(device, max_fps=20)
    try:
        home = PAGES["home"]
        display.show(home)
        assert display.wait_drawn(home)
        assert display.frames == 1 and differing_box(device.image, render(home)) is None
        for _ in range(5):
            display.show(home)                                  # the same view: nothing to draw
        system = PAGES["system"]
        display.show(system)
        assert display.wait_drawn(system)
        assert display.frames == 2
        assert differing_box(device.image, render(system)) is None
    finally:
        display.close()


class BrokenDevice:
    def display(self, image):
        raise OSError("I2C: remote I/O error")


def test_a_failing_oled_is_logged_and_the_thread_keeps_going(caplog):
    display = DisplayThread(BrokenDevice())
    try:
        display.show(PAGES["home"])
        assert display.wait_drawn(PAGES["home"])
        display.show(PAGES["menu"])
        assert display.wait_drawn(PAGES["menu"])
    finally:
        display.close()
    assert display.frames == 0
    assert caplog.text.count("the OLED stopped answering") == 1


def layer_pixels(view, line):
    """The lit pixels of the level bar and of the drift marker on body row ``line`` of a scene page."""
    image = render(view)
    y = BODY_Y + LINE_PX * (line + 1)
    bar = image.crop((LEVEL_X0, y, LEVEL_X1 + 1, y + LINE_PX)).tobytes()
    marker = image.crop((LEVEL_X1 + 2, y, WIDTH - 2, y + LINE_PX)).tobytes()
    return sum(byte.bit_count() for byte in bar), any(marker)


def test_a_layer_bar_grows_with_its_level_and_a_drifting_layer_is_marked():
    def view(level, drift):
        return SceneView("Rain", "PLAY", (Row("Stop"), LayerRow("rain", level, drift)))
    lit = [layer_pixels(view(level, 0.0), 1)[0] for level in (0.0, 0.25, 0.5, 1.0)]
    assert lit == sorted(lit) and len(set(lit)) == 4
    inner_px = LEVEL_X1 - LEVEL_X0 - 2
    assert lit[3] - lit[0] == inner_px * 4                  # full: every inner column of the 4-pixel-high bar
    assert not layer_pixels(view(0.5, 0.0), 1)[1] and layer_pixels(view(0.5, 0.2), 1)[1]


def test_the_scene_page_scrolls_to_keep_the_cursor_row_visible():
    first, last = (render(SceneView("Rain", "PLAY", SCENE_ROWS, cursor=cursor)) for cursor in (0, len(SCENE_ROWS) - 1))
    bottom_row = (0, BODY_Y + 4 * LINE_PX, WIDTH - 1, BODY_Y + 5 * LINE_PX)
    assert sum(first.crop(bottom_row).convert("L").tobytes()) < sum(last.crop(bottom_row).convert("L").tobytes())
