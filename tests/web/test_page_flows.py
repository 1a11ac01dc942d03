"""The phone page in Debian's Chromium (Pixel 7: 412x839, touch) against a real ``groovebox run`` process with
null audio and the offline generator: pairing through the PIN screen, uploading into the library, putting a
loop on a pad by touch and watching the pad follow the engine, generating and assigning a loop, putting a
clip on the song and dragging/resizing it by touch, exporting and downloading a WAV, undo/redo, recording
(the record sheet's refusal without an audio input, the mix to a FLAC that downloads, a performance into the
song), clearing every pad and undoing it, send levels and effect parameters reaching the API, the song loop
dragged on the loop lane, an ambient scene created from a description and remixed (a layer's volume by touch,
drift, intensity, loop points, the fade timer, stop, reloading it from the saved scenes) and a scene refused
in gig mode, reconnecting after a daemon restart, and every screen fitting a phone (screenshots for the README
with ``GROOVEBOX_SCREENSHOTS=1``).

Each test but the pairing one opens a fresh browser context that already holds a paired cookie (the daemon
helper's token) and sets up what it needs through the API, so the tests do not depend on each other's order.
The module is skipped when Chromium or playwright is missing.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from pathlib import Path

import pytest
import soundfile
from daemon_proc import PIN_LINE, RunningDaemon
from web_rig import write_loop_file

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.is_file():
    pytest.skip("the page tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the page tests need playwright (pip install playwright)")
expect = sync_api.expect
expect.set_options(timeout=10_000)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CONFIG = '[generate]\nengine = "offline"\n'
SCREENS = ("pads", "song", "library", "generate", "scene", "mixer")
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
GREEN = "rgb(56, 216, 107)"


# ---------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    with RunningDaemon(tmp_path_factory.mktemp("page"), CONFIG) as running:
        yield running


@pytest.fixture(scope="module")
def playwright():
    with sync_api.sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def chromium(playwright):
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def open_page(chromium, playwright, daemon, device: dict | None = None, screen: str = "pads"):
    """A new context (Pixel 7 unless ``device``) with the daemon helper's token as the page's cookie."""
    context = chromium.new_context(**(device or playwright.devices["Pixel 7"]), accept_downloads=True)
    context.add_cookies([{"name": "groovebox_token", "value": daemon.token, "url": daemon.base_url}])
    page = context.new_page()
    page.page_errors = []
    page.on("pageerror", lambda error: page.page_errors.append(str(error)))
    page.on("console", lambda message: page.page_errors.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(f"{daemon.base_url}/#{screen}")
    expect(page.locator("#conn-dot")).to_have_attribute("data-state", "online")
    return page


@pytest.fixture
def phone(chromium, playwright, daemon):
    page = open_page(chromium, playwright, daemon)
    yield page
    errors = page.page_errors
    page.context.close()
    assert not errors, errors


# ---------------------------------------------------------------------------------------------- helpers

def upload(daemon, folder: Path, name: str, seed: int = 1, bars: int = 1) -> dict:
    wav = write_loop_file(folder / f"{name}.wav", bars=bars, seed=seed).read_bytes()
    response = daemon.post("/api/loops/upload", files={"file": (f"{name}.wav", wav, "audio/wav")}, data={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


def newest_pin(daemon, used: set[str]) -> str:
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        pins = PIN_LINE.findall(daemon.log_text())
        if pins and pins[-1] not in used:
            return pins[-1]
        time.sleep(0.05)
    raise AssertionError("the daemon logged no new PIN")


def touch_drag(page, start: tuple[float, float], end: tuple[float, float], steps: int = 8,
               hold_s: float = 0.0, step_s: float = 0.0, rest_s: float = 0.0) -> None:
    """A one-finger drag (real touch events through the DevTools protocol: the page gets pointer events of
    type "touch", as on a phone); ``step_s`` between moves makes a slow drag, ``rest_s`` keeps the finger still
    before lifting it (no fling, whose end would swallow the next tap as Chromium does on a phone)."""
    session = page.context.new_cdp_session(page)
    session.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]})
    if hold_s:
        time.sleep(hold_s)
    for step in range(1, steps + 1):
        x = start[0] + (end[0] - start[0]) * step / steps
        y = start[1] + (end[1] - start[1]) * step / steps
        session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        if step_s:
            time.sleep(step_s)
    if rest_s:
        session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": end[0], "y": end[1]}]})
        time.sleep(rest_s)
    session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    session.detach()


def centre(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def song_clip(daemon, clip_id: str) -> dict:
    for track in daemon.get("/api/projects/current").json()["project"]["tracks"]:
        for clip in track["clips"]:
            if clip["clipId"] == clip_id:
                return clip
    raise AssertionError(f"clip {clip_id} is not in the song")


def long_press(page, locator) -> None:
    box = locator.bounding_box()
    touch_drag(page, centre(box), centre(box), steps=1, hold_s=0.8)


def wait_for(read, accept, timeout_s: float = 10.0):
    """Poll ``read()`` until ``accept(value)``; the last value (the assertion shows it) otherwise."""
    deadline = time.monotonic() + timeout_s
    value = read()
    while not accept(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    return value


def put_song(daemon, loop_id: str, track_name: str, start_bar: int = 0, bars: float = 2) -> None:
    project = daemon.get("/api/projects/current").json()["project"]
    project["tracks"].append({"trackId": f"t{len(project['tracks'])}x", "trackName": track_name, "volume": 0.8,
                              "pan": 0.0, "isMuted": False, "isSoloed": False,
                              "clips": [{"clipId": f"c{len(project['tracks'])}x", "loopId": loop_id,
                                         "startBar": start_bar, "durationBars": bars}]})
    assert daemon.client.put("/api/projects/current", json=project).status_code == 200


# ---------------------------------------------------------------------------------------------- tests

def test_pairing_through_the_pin_screen(chromium, playwright, daemon):
    context = chromium.new_context(**playwright.devices["Pixel 7"])
    page = context.new_page()
    page.goto(daemon.base_url + "/")
    expect(page.locator("#pairing")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    pin = newest_pin(daemon, {daemon.pin})
    page.locator("#pair-pin").fill(f"{(int(pin) + 1) % 1_000_000:06d}")
    page.locator("#pair-form button[type=submit]").tap()
    expect(page.locator("#pair-error")).to_contain_text("wrong PIN: 9 more wrong PINs")
    page.locator("#pair-pin").fill(newest_pin(daemon, {daemon.pin}))
    page.locator("#pair-label").fill("page test phone")
    page.locator("#pair-form button[type=submit]").tap()
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#conn-dot")).to_have_attribute("data-state", "online")
    assert "page test phone" in [token["label"] for token in daemon.get("/api/tokens").json()]
    page.reload()
    expect(page.locator("#conn-dot")).to_have_attribute("data-state", "online")
    expect(page.locator("#pairing")).to_be_hidden()
    context.close()


def test_an_uploaded_file_is_found_in_the_library(phone, tmp_path):
    wav = write_loop_file(tmp_path / "sunny groove.wav", seed=11)
    phone.locator("#tab-library").tap()
    phone.locator("#library-upload").set_input_files(str(wav))
    item = phone.locator(".loop-item", has_text="sunny groove")
    expect(item).to_be_visible()
    expect(item).to_contain_text("2.0 s · 120 BPM")
    expect(phone.locator(".library-section", has=item).locator("h2")).to_have_text("Uploaded")
    phone.locator("#library-search").fill("sunny")
    expect(phone.locator(".loop-item")).to_have_count(1)
    other = "bass" if item.get_attribute("data-category") != "bass" else "drums"
    phone.locator(f'.chip[data-category="{other}"]').tap()
    expect(item).to_be_hidden()
    phone.locator('.chip[data-category="all"]').tap()
    expect(item).to_be_visible()
    expect(phone.locator(".toast.error")).to_have_count(0)


def test_a_loop_goes_on_a_pad_by_touch_and_the_pad_follows_the_engine(chromium, playwright, daemon, tmp_path):
    upload(daemon, tmp_path, "touch beat", seed=3)
    assert daemon.client.patch("/api/transport", json={"quantize": "1/4"}).status_code == 200
    page = open_page(chromium, playwright, daemon, screen="library")
    page.get_by_role("button", name="Put touch beat on a pad").tap()
    page.get_by_role("button", name=re.compile(r"^Pad A3: ")).tap()
    expect(page.locator(".toast.info")).to_contain_text("touch beat is on pad A3")
    page.locator("#tab-pads").tap()
    pad = page.locator('.pad[data-pad-index="2"]')
    expect(pad).to_have_attribute("data-state", "loaded")
    expect(pad).to_contain_text("touch beat")
    pad.evaluate("""pad => { window.padStates = [pad.dataset.state];
        new MutationObserver(() => window.padStates.push(pad.dataset.state))
            .observe(pad, {attributes: true, attributeFilter: ["data-state"]}); }""")
    pad.tap()
    expect(pad).to_have_attribute("data-state", "playing")
    assert pad.evaluate("pad => getComputedStyle(pad).backgroundColor") == GREEN
    expect(pad.locator(".pad-playhead")).to_be_visible()
    pad.tap()
    expect(pad).to_have_attribute("data-state", "loaded")
    states = [state for index, state in enumerate(page.evaluate("window.padStates"))
              if index == 0 or state != page.evaluate("window.padStates")[index - 1]]
    assert states[0] == "loaded" and states[-1] == "loaded" and "playing" in states, states
    order = ["loaded", "queued", "playing", "stopping", "loaded"]
    positions = [order.index(state, 1 if index else 0) for index, state in enumerate(states)]
    assert positions == sorted(positions), states
    assert daemon.get("/api/pads").json()[2]["state"] == "loaded"

    box = pad.bounding_box()
    touch_drag(page, centre(box), centre(box), steps=1, hold_s=0.8)          # long-press: the settings sheet
    expect(page.locator("#pad-dialog")).to_be_visible()
    expect(page.locator("#pad-dialog-title")).to_have_text("Pad A3")
    expect(page.locator("#pad-name")).to_have_value("touch beat")
    page.locator("#pad-dialog button[value=close]").tap()
    after = daemon.get("/api/pads").json()[2]
    assert (after["state"], after["pan"], after["volume"]) == ("loaded", 0.0, 0.8)   # nothing else happened
    errors = page.page_errors
    page.context.close()
    assert not errors, errors


def test_offline_generation_and_assigning_a_result(phone, daemon):
    phone.locator("#tab-generate").tap()
    phone.locator("#gen-prompt").fill("funky drums and bass")
    phone.locator("#gen-bars").select_option("1")
    phone.locator("#gen-options").select_option("2")
    phone.locator("#generate-form button[type=submit]").tap()
    results = phone.locator("#gen-jobs .job").first.locator(".result")
    expect(results).to_have_count(2, timeout=60_000)
    first = results.first
    name = first.locator(".loop-name").inner_text()
    loop_id = first.get_attribute("data-key")
    record = daemon.get(f"/api/loops/{loop_id}").json()
    assert (record["source"], record["bars"], record["prompt"]) == ("generated", 1, "funky drums and bass")
    first.locator(".result-to-pad").tap()
    phone.get_by_role("button", name=re.compile(r"^Pad A5: ")).tap()
    phone.locator("#tab-pads").tap()
    pad = phone.locator('.pad[data-pad-index="4"]')
    expect(pad).to_have_attribute("data-state", "loaded")
    expect(pad).to_contain_text(name)
    assert daemon.get("/api/pads").json()[4]["loopId"] == loop_id


def test_a_clip_goes_on_the_song_and_is_dragged_and_resized_by_touch(phone, daemon, tmp_path):
    loop = upload(daemon, tmp_path, "song beat", seed=5)
    phone.locator("#tab-song").tap()
    rows = phone.locator(".tl-row")
    tracks_before = rows.count()
    phone.locator("#track-add").tap()
    expect(rows).to_have_count(tracks_before + 1)
    phone.locator("#clip-add").tap()
    phone.locator("#clip-from-library").tap()
    phone.locator("#pick-list .pick-item", has_text="song beat").tap()
    expect(phone.locator("#clip-source")).to_have_value(f"loop:{loop['loopId']}")
    expect(phone.locator("#clip-length")).to_have_value("1")
    phone.locator("#clip-start").fill("1")
    phone.locator("#clip-confirm").tap()
    clip = phone.locator(".clip", has_text="song beat")
    expect(clip).to_have_attribute("aria-label", re.compile(r"bars 1 to 1$"))
    clip_id = clip.get_attribute("data-key")
    assert (song_clip(daemon, clip_id)["startBar"], song_clip(daemon, clip_id)["durationBars"]) == (0, 1)

    bar_px = phone.locator(".tl-bar").first.bounding_box()["width"]
    clip.scroll_into_view_if_needed()
    box = clip.bounding_box()
    start = (box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    touch_drag(phone, start, (start[0] + 2 * bar_px, start[1]))
    expect(clip).to_have_attribute("aria-label", re.compile(r"bars 3 to 3$"))
    assert song_clip(daemon, clip_id)["startBar"] == 2

    box = clip.bounding_box()
    edge = (box["x"] + box["width"] + 4, box["y"] + box["height"] / 2)      # the grip straddles the right edge
    touch_drag(phone, edge, (edge[0] + 2 * bar_px, edge[1]))
    expect(clip).to_have_attribute("aria-label", re.compile(r"bars 3 to 5$"))
    resized = song_clip(daemon, clip_id)
    assert (resized["startBar"], resized["durationBars"], resized["loopId"]) == (2, 3, loop["loopId"])
    assert phone.locator("#clip-delete").is_enabled()


def test_the_song_exports_to_a_wav_that_downloads(phone, daemon, tmp_path):
    loop = upload(daemon, tmp_path, "export beat", seed=7)
    put_song(daemon, loop["loopId"], "export track", bars=2)
    phone.reload()
    expect(phone.locator("#conn-dot")).to_have_attribute("data-state", "online")
    phone.locator("#project-menu-toggle").tap()
    phone.locator("#project-export").tap()
    phone.locator("#export-format").select_option("wav:16")
    phone.locator("#export-start").tap()
    link = phone.locator("#export-result a")
    expect(link).to_be_visible(timeout=60_000)
    with phone.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".wav")
    info = soundfile.info(download.path())
    assert (info.samplerate, info.channels, info.subtype) == (48000, 2, "PCM_16")
    assert info.duration >= 2 * 4 * 60 / 120 - 0.01                   # at least the two bars of the clip


def test_undo_and_redo_from_the_top_bar(phone, daemon):
    before = round(daemon.get("/api/transport").json()["tempoBpm"])
    bpm = phone.locator("#bpm")
    expect(bpm).to_have_value(str(before))
    phone.locator("#bpm-up").tap()
    expect(bpm).to_have_value(str(before + 1))
    undo = phone.locator("#undo")
    expect(undo).to_be_enabled()
    expect(undo).to_have_attribute("aria-label", re.compile(r"^Undo \w"))
    undo.tap()
    expect(bpm).to_have_value(str(before))
    assert daemon.get("/api/transport").json()["tempoBpm"] == before
    phone.locator("#redo").tap()
    expect(bpm).to_have_value(str(before + 1))
    assert daemon.get("/api/transport").json()["tempoBpm"] == before + 1


def test_a_refused_request_shows_the_daemons_sentence(chromium, playwright, daemon, tmp_path):
    loop = upload(daemon, tmp_path, "plain upload", seed=13)
    daemon.client.put("/api/pads/6", json={"loopId": loop["loopId"], "padName": "plain upload"})
    page = open_page(chromium, playwright, daemon, screen="generate")
    expect(page.locator(f'#vary-loop option[value="{loop["loopId"]}"]')).to_have_count(1)
    page.locator("#vary-loop").select_option(loop["loopId"])
    page.locator("#vary-form button[type=submit]").tap()
    expect(page.locator(".toast.error")).to_have_text(re.compile(r"^'plain upload' was not generated, so it has no "
                                                                 r"prompt to vary"))
    errors = page.page_errors
    page.context.close()
    assert not errors, errors


# ---------------------------------------------------------------------------------------------- recording

def test_the_record_sheet_of_an_empty_pad_shows_why_the_daemon_refuses(phone, daemon):
    assert daemon.client.delete("/api/pads/15").status_code == 200
    pad = phone.locator('.pad[data-pad-index="15"]')
    expect(pad).to_have_attribute("data-state", "empty")
    long_press(phone, pad)
    expect(phone.locator("#pad-dialog")).to_be_visible()
    expect(phone.locator("#pad-record")).to_be_visible()
    expect(phone.locator("#pad-name")).to_be_hidden()                      # an empty pad has nothing to set
    expect(phone.locator("#record-input")).to_contain_text("no audio input")
    phone.locator("#record-bars").select_option("2")
    phone.locator("#record-start").tap()
    refusal = phone.locator("#pad-dialog .toast.error")
    expect(refusal).to_have_text(re.compile(r"^no audio input on the null audio backend, so nothing can be recorded"))
    expect(phone.locator("#pad-dialog")).to_be_visible()
    record = daemon.get("/api/record").json()
    assert (record["input"], record["pad"], record["state"]) == (False, None, "idle")
    assert daemon.get("/api/pads").json()[15]["state"] == "empty"


def test_the_mix_is_recorded_and_its_flac_downloads_from_the_library(phone, daemon):
    button = phone.locator("#mix-rec")
    button.tap()
    expect(button).to_have_attribute("aria-pressed", "true")
    assert daemon.get("/api/mix-recording").json()["recording"] is True
    expect(phone.locator("#mix-rec-time")).to_have_text(re.compile(r"^0:0[1-9]$"))    # polled once a second
    button.tap()
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(phone.locator("#mix-rec-time")).to_be_hidden()
    finished = daemon.get("/api/mix-recording").json()
    assert finished["recording"] is False and finished["seconds"] >= 1.0
    expect(phone.locator(".toast.info", has_text=finished["file"])).to_be_visible()
    phone.locator("#tab-library").tap()
    link = phone.get_by_role("link", name=f"Download {finished['file']}")
    expect(link).to_be_visible()
    with phone.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == finished["file"]
    info = soundfile.info(download.path())
    assert (info.format, info.samplerate, info.channels) == ("FLAC", 48000, 2)
    assert abs(info.duration - finished["seconds"]) < 0.05
    phone.get_by_role("button", name=f"Delete {finished['file']}").tap()
    phone.locator("#ask-ok").tap()                                         # confirmed
    expect(link).to_be_hidden()
    assert all(r["file"] != finished["file"] for r in daemon.get("/api/recordings").json())


def test_a_pad_performance_is_recorded_into_the_song(phone, daemon, tmp_path):
    loop = upload(daemon, tmp_path, "take beat", seed=17)
    assert daemon.client.put("/api/pads/13", json={"loopId": loop["loopId"], "padName": "take beat"}).status_code == 200
    assert daemon.client.patch("/api/transport", json={"quantize": "1/16"}).status_code == 200
    tracks_before = len(daemon.get("/api/projects/current").json()["project"]["tracks"])
    phone.locator("#tab-song").tap()
    button = phone.locator("#song-record")
    button.tap()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(phone.locator("#song-record-status")).to_be_visible()
    daemon.post("/api/pads/13/trigger")
    assert wait_for(lambda: daemon.get("/api/pads").json()[13]["state"], lambda state: state == "playing") == "playing"
    time.sleep(0.5)
    button.tap()
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(phone.locator(".toast.info", has_text="Added 1 track (1 clip) to the song")).to_be_visible()
    expect(phone.locator(".tl-row")).to_have_count(tracks_before + 1)
    tracks = daemon.get("/api/projects/current").json()["project"]["tracks"]
    assert len(tracks) == tracks_before + 1
    added = tracks[-1]
    assert added["trackName"] == "take beat"
    assert [clip["loopId"] for clip in added["clips"]] == [loop["loopId"]]
    assert added["clips"][0]["durationBars"] > 0
    expect(phone.locator(".tl-row").last.locator(".track-name")).to_have_value("take beat")
    daemon.post("/api/transport", json={"action": "stop_all", "quantized": False})


# ---------------------------------------------------------------------------------------------- pads, mixer, loop

def test_clear_all_pads_asks_first_and_undo_brings_them_back(phone, daemon, tmp_path):
    loop = upload(daemon, tmp_path, "clear me", seed=19)
    for index in (0, 1):
        daemon.client.put(f"/api/pads/{index}", json={"loopId": loop["loopId"], "padName": "clear me"})
    before = [pad.get("loopId") for pad in daemon.get("/api/pads").json()]
    first = phone.locator('.pad[data-pad-index="0"]')
    expect(first).to_contain_text("clear me")
    phone.locator("#pads-clear").tap()
    expect(phone.locator("#ask-dialog")).to_be_visible()
    phone.locator("#ask-cancel").tap()
    assert [pad.get("loopId") for pad in daemon.get("/api/pads").json()] == before
    phone.locator("#pads-clear").tap()
    phone.locator("#ask-ok").tap()
    expect(first).to_have_attribute("data-state", "empty")
    expect(phone.locator('.pad[data-pad-index="1"]')).to_have_attribute("data-state", "empty")
    assert all(pad.get("loopId") is None for pad in daemon.get("/api/pads").json())
    phone.locator("#undo").tap()
    expect(first).to_have_attribute("data-state", "loaded")
    expect(first).to_contain_text("clear me")
    assert [pad.get("loopId") for pad in daemon.get("/api/pads").json()] == before


def test_send_levels_set_in_the_mixer_reach_the_api(phone, daemon, tmp_path):
    loop = upload(daemon, tmp_path, "send beat", seed=23)
    daemon.client.put("/api/pads/12", json={"loopId": loop["loopId"], "padName": "send beat"})
    put_song(daemon, loop["loopId"], "send track")
    track_id = daemon.get("/api/projects/current").json()["project"]["tracks"][-1]["trackId"]
    phone.locator("#tab-mixer").tap()
    pad_send = phone.locator('.strip[data-key="pad-12"] .strip-send[data-bus="1"]')
    expect(pad_send).to_have_attribute("aria-label", re.compile(r"^Pad A13 · send beat: send to "))
    pad_send.focus()
    phone.keyboard.press("End")
    track_send = phone.locator(f'.strip[data-key="track-{track_id}"] .strip-send[data-bus="3"]')
    track_send.focus()
    for _ in range(5):
        phone.keyboard.press("ArrowRight")

    def sends():
        snapshot = daemon.get("/api/effects").json()
        pad = next(item for item in snapshot["pads"] if item["padIndex"] == 12)
        track = next(item for item in snapshot["tracks"] if item["trackId"] == track_id)
        return pad["sends"], track["sends"]

    assert wait_for(sends, lambda value: value == ([0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.05])) == \
        ([0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.05])
    expect(pad_send.locator("xpath=..").locator("output")).to_have_text("100 %")


def test_effects_edited_in_the_mixer_reach_the_api(phone, daemon):
    hall = {"name": "Hall", "chain": [{"type": "reverb", "roomSize": 0.1, "dryLevel": 0.0}]}
    assert daemon.client.put("/api/effects", json={"buses": [hall], "master": []}).status_code == 200
    phone.evaluate("""() => { const original = window.fetch; window.effectPuts = [];
        window.fetch = (url, options) => { if (options?.method === "PUT" && String(url).endsWith("/api/effects"))
            window.effectPuts.push(performance.now()); return original(url, options); }; }""")
    phone.locator("#tab-mixer").tap()
    room = phone.get_by_role("slider", name="Reverb on Hall: room size")
    room.evaluate("slider => slider.scrollIntoView({block: 'center'})")
    box = room.bounding_box()
    y = box["y"] + box["height"] / 2
    touch_drag(phone, (box["x"] + 4, y), (box["x"] + box["width"] - 1, y), steps=25, step_s=0.04, rest_s=0.2)

    def reverb():
        return daemon.get("/api/effects").json()["effects"]["buses"][0]["chain"][0]

    dragged = wait_for(reverb, lambda effect: effect["roomSize"] >= 0.95)
    assert dragged["roomSize"] >= 0.95
    assert (dragged["dryLevel"], dragged["enabled"]) == (0.0, True)                     # the rest was kept
    assert daemon.get("/api/effects").json()["effects"]["buses"][0]["name"] == "Hall"
    puts = phone.evaluate("window.effectPuts")
    gaps_ms = [later - earlier for earlier, later in itertools.pairwise(puts)]
    assert len(puts) >= 3, puts                                                    # it wrote during the drag
    assert min(gaps_ms) >= 100, gaps_ms                                            # at most 10 writes a second

    phone.get_by_role("combobox", name="Add an effect to Bus 2").select_option("delay")
    bus_two = wait_for(lambda: daemon.get("/api/effects").json()["effects"]["buses"][1]["chain"],
                       lambda chain: len(chain) == 1)
    assert (bus_two[0]["type"], bus_two[0]["mix"]) == ("delay", 1.0)                # all echo on a send bus
    phone.get_by_role("button", name="Reverb on Hall: on").tap()
    assert wait_for(reverb, lambda effect: effect["enabled"] is False)["enabled"] is False
    expect(phone.get_by_role("button", name="Reverb on Hall: on")).to_have_attribute("aria-pressed", "false")


def test_dragging_on_the_loop_lane_sets_the_song_loop(phone, daemon):
    loop = {"enabled": False, "startBar": 8, "endBar": 12}
    assert daemon.client.patch("/api/transport", json={"loop": loop}).status_code == 200
    phone.locator("#tab-song").tap()
    lane = phone.locator("#timeline .tl-looplane")
    expect(lane).to_have_attribute("aria-label", re.compile(r"bars 9\u201312, off"))
    phone.locator("#timeline").evaluate("timeline => { timeline.scrollLeft = 0; }")
    bar_px = phone.locator(".tl-bar").first.bounding_box()["width"]
    box = lane.bounding_box()
    y = box["y"] + box["height"] / 2

    def at(bar: float) -> tuple[float, float]:
        return box["x"] + bar * bar_px, y

    def song_loop():
        return daemon.get("/api/transport").json()["song"]["loop"]

    touch_drag(phone, at(0.5), at(2.5), rest_s=0.2)                     # bars 1 to 3
    wanted = {"enabled": False, "startBar": 0, "endBar": 3}
    assert wait_for(song_loop, lambda value: value == wanted) == wanted
    expect(lane).to_have_attribute("aria-label", re.compile(r"bars 1\u20133, off"))
    touch_drag(phone, at(3.0), at(2.0), rest_s=0.2)                     # its end edge, one bar back
    wanted = {"enabled": False, "startBar": 0, "endBar": 2}
    assert wait_for(song_loop, lambda value: value == wanted) == wanted
    phone.locator("#song-loop").tap()
    wanted = {"enabled": True, "startBar": 0, "endBar": 2}
    assert wait_for(song_loop, lambda value: value == wanted) == wanted
    expect(lane.locator(".tl-loop")).to_have_class(re.compile(r"\bon\b"))
    expect(phone.locator("#song-loop")).to_have_attribute("aria-pressed", "true")
    phone.locator("#song-loop").tap()
    assert wait_for(song_loop, lambda value: not value["enabled"])["enabled"] is False
    lane.focus()                                                         # the same from the keyboard
    phone.keyboard.press("ArrowRight")
    wanted = {"enabled": False, "startBar": 1, "endBar": 3}
    assert wait_for(song_loop, lambda value: value == wanted) == wanted
    phone.keyboard.press("Shift+ArrowRight")
    wanted = {"enabled": False, "startBar": 1, "endBar": 4}
    assert wait_for(song_loop, lambda value: value == wanted) == wanted
    phone.keyboard.press("Enter")
    wanted = {"enabled": True, "startBar": 1, "endBar": 4}
    assert wait_for(song_loop, lambda value: value == wanted) == wanted


# ---------------------------------------------------------------------------------------------- ambient scenes

def slide_by_touch(page, slider, to_value: float) -> float:
    """Drag ``slider`` (a 0..1 range input) by touch from its thumb to ``to_value``; the value it shows after."""
    slider.evaluate("slider => slider.scrollIntoView({block: 'center'})")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2

    def x_at(value: float) -> float:           # the thumb's centre travels between the ends minus its radius
        return box["x"] + 8 + value * (box["width"] - 16)

    touch_drag(page, (x_at(float(slider.input_value())), y), (x_at(to_value), y), steps=12, step_s=0.03, rest_s=0.2)
    return float(slider.input_value())


def test_an_ambient_scene_is_created_remixed_faded_and_reloaded(phone, daemon):
    phone.locator("#tab-scene").tap()
    expect(phone.locator("#scene-bank")).to_have_value("3")                   # bank D, the scenes' default
    phone.locator("#scene-text").fill("thunderstorm at sea, waves on the rocks")
    seconds = phone.locator("#scene-seconds")
    expect(seconds).to_have_value("30")
    seconds.fill("5")
    create = phone.locator("#scene-create")
    create.tap()
    expect(create).to_be_disabled()                                            # planning and rendering
    expect(phone.locator("#scene-progress")).to_be_visible()
    strips = phone.locator(".scene-layer")
    expect(strips.first).to_be_visible(timeout=60_000)
    expect(create).to_be_enabled()
    scene = daemon.get("/api/scene").json()
    assert (scene["loaded"], scene["playing"], scene["bank"]) == (True, True, 3)
    assert daemon.get("/api/scenes").json()[0]["sceneId"] == scene["sceneId"]
    assert daemon.get("/api/scenes").json()[0]["seconds"] == 5.0                # the typed length
    expect(phone.locator("#scene-narrative")).to_have_text(scene["narrative"])
    layers = scene["layers"]
    assert len(layers) >= 3
    expect(strips).to_have_count(len(layers))
    names = [name.lower().replace(" ", "_") for name in strips.locator(".layer-name").all_inner_texts()]
    assert names == [layer["kind"] for layer in layers]

    pad = layers[0]["pad"]
    original = daemon.get("/api/pads").json()[pad]
    target = 0.15 if original["volume"] > 0.5 else 0.85
    for _ in range(2):            # a drag begun while a poll redraws the strip can be lost: drag again
        shown = slide_by_touch(phone, strips.first.locator(".layer-volume"), target)
        if abs(shown - target) < 0.1:
            break
    assert abs(shown - target) < 0.1, shown
    volume = wait_for(lambda: daemon.get("/api/pads").json()[pad]["volume"], lambda value: abs(value - shown) < 0.006)
    assert abs(volume - shown) < 0.006

    drift = strips.nth(1).locator(".layer-drift")
    drift.focus()
    phone.keyboard.press("End")
    assert wait_for(lambda: daemon.get("/api/scene").json()["layers"][1]["drift"], lambda value: value == 1.0) == 1.0
    expect(strips.nth(1).locator(".layer-field", has=phone.locator(".layer-drift")).locator("output")).to_have_text("100 %")
    intensity = strips.nth(1).locator(".layer-intensity")
    intensity.focus()
    phone.keyboard.press("Home")                                            # a key press re-renders the layer
    assert wait_for(lambda: daemon.get("/api/scene").json()["layers"][1]["intensity"], lambda value: value == 0.0) == 0.0

    strips.first.locator(".layer-loop").tap()                               # the pad sheet's region editor
    expect(phone.locator("#pad-dialog")).to_be_visible()
    expect(phone.locator("#pad-dialog-title")).to_have_text("Pad D1")
    start = phone.locator("#region-start")
    expect(start).to_be_focused()
    expect(start).to_have_attribute("aria-valuemax", re.compile(r"^[45]\.\d+$"))
    for _ in range(5):
        phone.keyboard.press("ArrowRight")
    start_s, shown_s = wait_for(                                             # the daemon has what the page shows
        lambda: (daemon.get("/api/pads").json()[pad]["loopStartOffsetSeconds"], float(start.get_attribute("aria-valuenow"))),
        lambda pair: pair[0] > 0.1 and abs(pair[0] - pair[1]) < 0.011)
    assert 0.1 < start_s < 0.3 and abs(start_s - shown_s) < 0.011, (start_s, shown_s)
    phone.locator("#pad-dialog button[value=close]").tap()
    expect(strips.first.locator(".layer-loop-text")).to_have_text(re.compile(rf"^Loop points {start_s:.2f}–"))

    phone.get_by_role("button", name="15 min").tap()
    assert wait_for(lambda: daemon.get("/api/scene").json()["fade"], lambda fade: fade is not None)["seconds"] == 900
    expect(phone.locator("#scene-fade-left")).to_have_text(re.compile(r"^14:5\d left$"))   # counts down
    phone.get_by_role("button", name="Cancel fade").tap()
    assert wait_for(lambda: daemon.get("/api/scene").json()["fade"], lambda fade: fade is None) is None
    expect(phone.locator("#scene-fade-left")).to_be_hidden()

    phone.locator("#scene-stop").tap()
    assert wait_for(lambda: daemon.get("/api/scene").json()["playing"], lambda playing: not playing) is False
    expect(phone.locator("#scene-state")).to_have_text("stopped (bank D)")
    assert wait_for(lambda: daemon.get("/api/pads").json()[pad]["state"], lambda state: state == "loaded") == "loaded"
    expect(phone.get_by_role("button", name="15 min")).to_be_disabled()

    saved = phone.locator("#scene-presets .scene-preset[aria-current=true]")
    expect(saved).to_contain_text(scene["title"])
    saved.get_by_role("button", name=f"Load {scene['title']} onto bank D and play it").tap()
    assert wait_for(lambda: daemon.get("/api/scene").json()["playing"], lambda playing: playing) is True
    expect(phone.locator("#scene-state")).to_have_text("playing on bank D")
    reloaded = daemon.get("/api/pads").json()[pad]                          # the preset's mix is back
    assert (reloaded["volume"], reloaded["loopStartOffsetSeconds"]) == (original["volume"], 0.0)
    expect(strips.first.locator(".layer-volume")).to_have_value(f"{round(original['volume'], 2):g}")
    daemon.post("/api/scene/stop")

    phone.get_by_role("button", name=f"Delete the saved scene {scene['title']}").tap()
    phone.locator("#ask-ok").tap()
    expect(phone.locator("#scene-presets .scene-preset")).to_have_count(0)
    assert daemon.get("/api/scenes").json() == []


def test_a_scene_refused_in_gig_mode_shows_the_daemons_sentence(chromium, playwright, tmp_path):
    with RunningDaemon(tmp_path, CONFIG + "[project]\nsave_lock = true\n") as locked:
        page = open_page(chromium, playwright, locked, screen="scene")
        page.locator("#scene-text").fill("quiet forest at dawn")
        page.locator("#scene-seconds").fill("5")
        page.locator("#scene-create").tap()
        expect(page.locator("#scene-error")).to_have_text(re.compile(r"^save-lock is on \(gig mode\): creating a scene was not done"))
        expect(page.locator("#scene-create")).to_be_enabled()
        assert locked.get("/api/scenes").json() == []
        assert locked.get("/api/scene").json()["loaded"] is False
        errors = page.page_errors
        page.context.close()
        assert not errors, errors


def test_the_page_reconnects_after_a_daemon_restart(chromium, playwright, tmp_path):
    first = RunningDaemon(tmp_path, CONFIG)
    second = None
    try:
        page = open_page(chromium, playwright, first)
        port = first.port
        first.stop()
        expect(page.locator("#conn-dot")).to_have_attribute("data-state", re.compile("offline|connecting"))
        expect(page.locator("#conn-banner")).to_be_visible()
        second = RunningDaemon(tmp_path, CONFIG, port=port)
        loop = upload(second, tmp_path, "after restart", seed=9)
        second.client.put("/api/pads/1", json={"loopId": loop["loopId"], "padName": "after restart"})
        expect(page.locator("#conn-dot")).to_have_attribute("data-state", "online", timeout=20_000)
        expect(page.locator("#conn-banner")).to_be_hidden()
        expect(page.locator('.pad[data-pad-index="1"]')).to_contain_text("after restart")
        errors = page.page_errors
        page.context.close()
        assert not errors, errors
    finally:
        for running in (first, second):
            if running is not None:
                running.stop()


# ---------------------------------------------------------------------------------------------- layout

def _seed_for_screens(daemon, folder: Path) -> None:
    names = ["kick groove", "bass line", "synth stab", "pad swell"]
    loops = [upload(daemon, folder, name, seed=20 + index, bars=1) for index, name in enumerate(names)]
    for index, loop in enumerate(loops):
        daemon.client.put(f"/api/pads/{8 + index}", json={"loopId": loop["loopId"], "padName": loop["loopName"]})
    put_song(daemon, loops[0]["loopId"], "Drums", start_bar=0, bars=4)
    put_song(daemon, loops[1]["loopId"], "Bass", start_bar=2, bars=2)
    effects = {"buses": [{"name": "Hall", "chain": [{"type": "reverb", "roomSize": 0.7, "dryLevel": 0.0}]},
                         {"name": "Echo", "chain": [{"type": "delay", "delaySeconds": 0.375, "feedback": 0.4,
                                                     "mix": 1.0}, {"type": "filter", "cutoffHz": 2500.0}]}],
               "master": [{"type": "compressor", "thresholdDb": -12.0, "ratio": 3.0}]}
    assert daemon.client.put("/api/effects", json=effects).status_code == 200
    daemon.client.patch("/api/pads/8/sends", json={"sends": [0.3, 0.15]})
    daemon.client.patch("/api/pads/10/sends", json={"sends": [0.5, 0.0, 0.2]})
    daemon.client.patch("/api/transport", json={"loop": {"enabled": True, "startBar": 0, "endBar": 4}})
    daemon.post("/api/mix-recording/start")                   # a recording in the library's list
    time.sleep(1.0)
    daemon.post("/api/mix-recording/stop")
    daemon.post("/api/pads/8/trigger")                        # a playing pad (and the meter) in the pictures
    job = daemon.post("/api/generate", json={"prompt": "deep house groove", "bars": 1, "options": 2}).json()
    assert daemon.wait_for_job(job["jobId"])["state"] == "done"
    scene = daemon.post("/api/scenes", json={"text": "midnight in a neon-lit Tokyo back-alley, light rain", "seconds": 5})
    assert scene.status_code == 200, scene.text
    assert daemon.post("/api/scene/fade", json={"seconds": 1800}).status_code == 200    # the timer in the picture


def _undersized_controls(page) -> list[str]:
    """Visible controls smaller than a 44 px touch target (checkboxes and radios count by their label)."""
    return page.evaluate("""() => {
        const small = [];
        const controls = document.querySelectorAll(
            "button, select, input:not([type=hidden]), textarea, summary, a.button, [role=slider], [role=tab]");
        for (const element of controls) {
            let target = element;
            if (element.matches("input[type=checkbox], input[type=radio]")) target = element.closest("label");
            if (element.matches("input[type=file]")) target = element.closest("label");
            const box = target.getBoundingClientRect();
            if (!box.width || !box.height || element.closest("[hidden]")) continue;
            const tall = element.matches("input[type=range], [role=slider]") || box.width >= 43.5;
            if (box.height < 43.5 || !tall) small.push(`${element.id || element.className || element.tagName} ${Math.round(box.width)}x${Math.round(box.height)}`);
        }
        return small;
    }""")


@pytest.mark.parametrize("device_name", ["Pixel 7", "laptop"])
def test_every_screen_fits_and_has_touch_sized_controls(chromium, playwright, daemon, tmp_path, device_name):
    if device_name == "Pixel 7":
        _seed_for_screens(daemon, tmp_path)
    device = LAPTOP if device_name == "laptop" else playwright.devices["Pixel 7"]
    page = open_page(chromium, playwright, daemon, device=device)
    save = os.environ.get("GROOVEBOX_SCREENSHOTS") == "1"
    prefix = "phone" if device_name == "Pixel 7" else "laptop"
    for screen in SCREENS:
        page.locator(f"#tab-{screen}").click()
        expect(page.locator(f"#view-{screen}")).to_be_visible()
        page.wait_for_timeout(300)                                              # waveforms arrive
        if screen == "generate":
            expect(page.locator("#gen-jobs .result").first).to_be_visible()       # jobs come with the snapshot
        if screen == "scene":
            expect(page.locator(".scene-layer").first).to_be_visible()
            expect(page.locator(".scene-preset").first).to_be_visible()
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{screen} scrolls sideways on {device_name}: {width}"
        assert _undersized_controls(page) == [], screen
        if save:
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT_DIR / f"{prefix}-{screen}.png"), scale="css")
        if save and screen == "scene" and device_name == "Pixel 7":
            for part, name in (("#scene-now", "scene"), ("#scene-layers-part", "scene-layers")):
                page.locator(part).evaluate("part => part.scrollIntoView({block: 'start'})")
                page.evaluate("() => window.scrollBy(0, -document.querySelector('.topbar').offsetHeight - 8)")
                page.wait_for_timeout(100)
                page.screenshot(path=str(SCREENSHOT_DIR / f"{prefix}-{name}.png"), scale="css")
            page.evaluate("() => window.scrollTo(0, 0)")
        if save and screen == "mixer":
            page.locator("#effects-part").evaluate("part => part.scrollIntoView({block: 'start'})")
            page.evaluate("() => window.scrollBy(0, -document.querySelector('.topbar').offsetHeight)")
            page.wait_for_timeout(100)
            page.screenshot(path=str(SCREENSHOT_DIR / f"{prefix}-effects.png"), scale="css")
            page.evaluate("() => window.scrollTo(0, 0)")
    page.locator("#tab-pads").click()
    page.locator('.pad[data-pad-index="8"]').click(button="right")              # the settings sheet
    expect(page.locator("#pad-dialog")).to_be_visible()
    page.wait_for_timeout(300)
    assert _undersized_controls(page) == [], "pad settings"
    if save:
        page.screenshot(path=str(SCREENSHOT_DIR / f"{prefix}-pad-settings.png"), scale="css")
    errors = page.page_errors
    page.context.close()
    assert not errors, errors
