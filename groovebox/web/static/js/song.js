// The song: bar ruler (tap or drag to move the playhead), loop lane (drag to set the loop region:
// looplane.js), tracks (name, mute, solo, volume, pan) and clips drawn with their waveform. Clips are dragged to move (also to another track) and by their
// right edge to repeat or trim, always snapping to whole bars; keyboard users get the same with arrow keys.
//
// Arrangement changes send the whole project (arrange.js); mute, solo, volume and pan go through
// PATCH /api/mixer. While a clip is being dragged, incoming project updates wait until the drag ends.

import { api } from "./api.js";
import { on, state } from "./store.js";
import { loopBars, loopRecord } from "./loops.js";
import { findClip, newTrack, saveSong } from "./arrange.js";
import { initClipSheet, openClipSheet } from "./clipsheet.js";
import { showLoopWave } from "./wave.js";
import { buildLoopLane, drawLoopLane, loopNow, setLoopRegion } from "./looplane.js";
import { $, act, ask, clamp, h, holdWhileDragging, keyed, randomId, setValue, throttle } from "./ui.js";

const CLIP_POINTS = 160;
const MIN_BAR_PX = 24;
const MAX_BAR_PX = 160;

let barPx = window.matchMedia("(min-width: 900px)").matches ? 72 : 56;
let selected = null;          // {trackId, clipId}
let selectedTrackId = null;
let drag = null;
let renderWaiting = false;
let focusClipId = null;
let locating = null;          // the bar shown while the playhead is dragged
let renderedBars = 0;         // the ruler's length when last drawn
const records = new Map();    // loopId -> library record (for clip lengths and waveforms)

const beatsPerBar = () => state.project?.beatsPerBar ?? state.transport?.beatsPerBar ?? 4;
const tracks = () => state.project?.tracks ?? [];

function songBars() {
  let end = 0;
  for (const track of tracks()) for (const clip of track.clips) end = Math.max(end, clip.startBar + clip.durationBars);
  end = Math.max(end, loopNow().endBar);
  return Math.max(16, Math.ceil(end) + 8);
}

// ---- drawing --------------------------------------------------------------------------------------

function render() {
  if (drag) { renderWaiting = true; return; }
  renderWaiting = false;
  const timeline = $("#timeline");
  if (!timeline.firstChild) timeline.append(buildFrame());
  const bars = songBars();
  renderedBars = bars;
  const inner = $(".tl-inner", timeline);
  inner.style.setProperty("--bar-px", `${barPx}px`);
  inner.style.setProperty("--bars", String(bars));
  drawRuler(bars);
  keyed($(".tl-tracks", timeline), tracks(), (track) => track.trackId, buildRow, drawRow);
  $(".tl-empty", timeline).hidden = tracks().length > 0;
  drawSelection();
  drawTransport();
  if (focusClipId) {
    const node = $(`.clip[data-key="${focusClipId}"]`, timeline);
    if (node) node.focus();
    focusClipId = null;
  }
}

function buildFrame() {
  const ruler = h("div", { class: "tl-ruler", role: "slider", tabindex: "0", "aria-label": "Song position (bar)" },
    h("div", { class: "tl-bars", "aria-hidden": "true" }));
  ruler.addEventListener("pointerdown", rulerDown);
  ruler.addEventListener("pointermove", rulerMove);
  ruler.addEventListener("pointerup", rulerUp);
  ruler.addEventListener("pointercancel", () => { locating = null; drawTransport(); });
  ruler.addEventListener("keydown", rulerKey);
  return h("div", { class: "tl-inner" },
    h("div", { class: "tl-ruler-row" }, h("div", { class: "tl-corner" },
      h("button", { type: "button", class: "icon", id: "zoom-out", "aria-label": "Zoom out", onclick: () => zoom(0.8) }, "\u2212"),
      h("button", { type: "button", class: "icon", id: "zoom-in", "aria-label": "Zoom in", onclick: () => zoom(1.25) }, "+")),
    h("div", { class: "tl-rulers" }, buildLoopLane(() => barPx), ruler)),
    h("div", { class: "tl-tracks" }),
    h("p", { class: "tl-empty muted" }, "No tracks yet: add a track, then add clips from the library or the pads."),
    h("div", { class: "tl-playhead", "aria-hidden": "true" }));
}

function drawRuler(bars) {
  const ruler = $(".tl-ruler");
  ruler.setAttribute("aria-valuemin", "1");
  ruler.setAttribute("aria-valuemax", String(bars));
  const numbers = $(".tl-bars");
  if (numbers.children.length !== bars) {
    numbers.replaceChildren(...Array.from({ length: bars }, (_, bar) => h("span", { class: "tl-bar" }, String(bar + 1))));
  }
  drawLoopLane();
}

function buildRow(track) {
  const name = h("input", { class: "track-name", maxLength: 100 });
  name.addEventListener("change", () => renameTrack(name.closest(".tl-row").dataset.key, name.value));
  const volume = h("input", { type: "range", min: 0, max: 1, step: 0.01, class: "track-volume" });
  const pan = h("input", { type: "range", min: -1, max: 1, step: 0.01, class: "track-pan" });
  for (const input of [volume, pan]) {
    holdWhileDragging(input);
    input.addEventListener("input", () => mixTrack(input.closest(".tl-row").dataset.key,
      { [input === volume ? "volume" : "pan"]: Number(input.value) }));
  }
  const toggle = (field) => (event) => {
    const trackId = event.currentTarget.closest(".tl-row").dataset.key;
    const current = tracks().find((item) => item.trackId === trackId);
    if (current) mixTrackNow(trackId, { [field]: !current[field] });
  };
  const lane = h("div", { class: "tl-lane" });
  lane.addEventListener("pointerdown", (event) => {
    if (event.target === lane) { selected = null; selectedTrackId = lane.closest(".tl-row").dataset.key; drawSelection(); }
  });
  return h("div", { class: "tl-row" },
    h("div", { class: "tl-head" },
      h("div", { class: "tl-head-line" }, name,
        h("button", { type: "button", class: "icon track-mute", onclick: toggle("isMuted") }, "M"),
        h("button", { type: "button", class: "icon track-solo", onclick: toggle("isSoloed") }, "S")),
      h("div", { class: "tl-head-line" }, volume, pan,
        h("button", { type: "button", class: "icon track-delete", onclick: (event) =>
          deleteTrack(event.currentTarget.closest(".tl-row").dataset.key) }, "\u00d7"))),
    lane);
}

function drawRow(row, track) {
  const label = track.trackName || "Track";
  const name = $(".track-name", row);
  setValue(name, track.trackName);
  name.setAttribute("aria-label", `Track name (${label})`);
  const mute = $(".track-mute", row);
  mute.setAttribute("aria-pressed", String(track.isMuted));
  mute.setAttribute("aria-label", `Mute ${label}`);
  const solo = $(".track-solo", row);
  solo.setAttribute("aria-pressed", String(track.isSoloed));
  solo.setAttribute("aria-label", `Solo ${label}`);
  setValue($(".track-volume", row), track.volume);
  $(".track-volume", row).setAttribute("aria-label", `${label} volume`);
  setValue($(".track-pan", row), track.pan);
  $(".track-pan", row).setAttribute("aria-label", `${label} pan`);
  $(".track-delete", row).setAttribute("aria-label", `Delete track ${label}`);
  row.classList.toggle("selected-track", track.trackId === selectedTrackId);
  keyed($(".tl-lane", row), track.clips, (clip) => clip.clipId, buildClip, (node, clip) => drawClip(node, clip, track));
}

function buildClip() {
  const node = h("div", { class: "clip", role: "button", tabindex: "0" },
    h("canvas", { class: "clip-wave", "aria-hidden": "true" }),
    h("span", { class: "clip-name" }),
    h("span", { class: "clip-resize", "aria-hidden": "true" }));
  node.addEventListener("pointerdown", clipDown);
  node.addEventListener("pointermove", clipMove);
  node.addEventListener("pointerup", clipUp);
  node.addEventListener("pointercancel", clipCancel);
  node.addEventListener("keydown", clipKey);
  node.addEventListener("focus", () => select(node.trackId, node.dataset.key));
  return node;
}

function clipLoopBars(clip) {
  const record = clip.loopId ? records.get(clip.loopId) : null;
  if (!record) return Math.max(1, clip.durationBars);
  const whole = loopBars(record, state.project?.bpm ?? 120, beatsPerBar());
  const start = clip.startOffsetInLoopSeconds ?? 0;
  const end = clip.endOffsetInLoopSeconds ?? record.durationSeconds;
  return Math.max(0.0625, (whole * (end - start)) / record.durationSeconds);
}

function waveOptions(node) {
  const clip = node.clip;
  const record = clip.loopId ? records.get(clip.loopId) : null;
  const duration = record?.durationSeconds || 1;
  return { color: "#d8f0ff", from: (clip.startOffsetInLoopSeconds ?? 0) / duration,
    to: (clip.endOffsetInLoopSeconds ?? duration) / duration, cycles: clip.durationBars / clipLoopBars(clip) };
}

function drawClip(node, clip, track) {
  node.clip = clip;
  node.trackId = track.trackId;
  node.style.left = `${clip.startBar * barPx}px`;
  node.style.width = `${clip.durationBars * barPx}px`;
  node.style.transform = "";
  const record = clip.loopId ? records.get(clip.loopId) : null;
  const name = record?.loopName ?? (clip.audioPath ? clip.audioPath.split("/").pop() : "loop");
  $(".clip-name", node).textContent = name;
  const end = clip.startBar + clip.durationBars;
  node.setAttribute("aria-label", `${name} on ${track.trackName || "track"}, bars ${clip.startBar + 1} to ${end}`);
  if (record) node.dataset.category = record.category;
  if (clip.loopId && !records.has(clip.loopId)) {
    loopRecord(clip.loopId).then((loaded) => { records.set(clip.loopId, loaded); render(); }).catch(() => {});
  }
  const canvas = $(".clip-wave", node);
  if (clip.loopId && canvas.dataset.loopId !== clip.loopId) showLoopWave(canvas, clip.loopId, CLIP_POINTS, () => waveOptions(node));
}

function drawSelection() {
  for (const node of document.querySelectorAll("#timeline .clip")) {
    node.classList.toggle("selected", selected?.clipId === node.dataset.key);
    node.setAttribute("aria-pressed", String(selected?.clipId === node.dataset.key));
  }
  for (const row of document.querySelectorAll("#timeline .tl-row")) {
    row.classList.toggle("selected-track", row.dataset.key === selectedTrackId);
  }
  $("#clip-duplicate").disabled = !selected;
  $("#clip-delete").disabled = !selected;
}

function select(trackId, clipId) {
  selected = { trackId, clipId };
  selectedTrackId = trackId;
  drawSelection();
}

// ---- transport and playhead -----------------------------------------------------------------------

function songBarNow() {
  const song = state.transport?.song;
  if (!song) return 0;
  if (song.state !== "playing") return song.bar;
  const elapsedS = (performance.now() - state.transportAt) / 1000;
  return song.bar + (elapsedS * state.transport.tempoBpm) / 60 / beatsPerBar();
}

function drawTransport() {
  const transport = state.transport;
  if (!transport) return;
  const song = transport.song;
  $("#song-play").setAttribute("aria-pressed", String(song.state !== "stopped"));
  $("#song-metronome").setAttribute("aria-pressed", String(Boolean(transport.metronome)));
  const loop = loopNow();
  $("#song-loop").setAttribute("aria-pressed", String(Boolean(loop.enabled)));
  setValue($("#loop-start"), loop.startBar + 1);
  setValue($("#loop-end"), loop.endBar);
  const ruler = $("#timeline .tl-ruler");
  if (ruler) ruler.setAttribute("aria-valuenow", String(Math.floor(song.bar) + 1));
  if (ruler && songBars() !== renderedBars) render();      // a loop region past the end lengthens the ruler
  else drawLoopLane();
}

export function animateSong() {
  if ($("#view-song").hidden || !state.transport) return;
  const bar = locating ?? songBarNow();
  const playhead = $("#timeline .tl-playhead");
  const head = $("#timeline .tl-corner");
  if (playhead && head) playhead.style.transform = `translateX(${head.offsetWidth + bar * barPx}px)`;
  const beat = Math.floor((bar % 1) * beatsPerBar() + 1e-6) + 1;
  $("#song-position").textContent = `${Math.floor(bar) + 1}.${beat}`;
}

function song(action, extra = {}) {
  return act(() => api("POST", "/api/transport", { action, ...extra }));
}

function barAt(event) {
  const box = $("#timeline .tl-ruler").getBoundingClientRect();
  return Math.max(0, Math.floor((event.clientX - box.left) / barPx));
}

function rulerDown(event) {
  event.currentTarget.setPointerCapture(event.pointerId);
  locating = barAt(event);
}

function rulerMove(event) {
  if (locating !== null) locating = barAt(event);
}

function rulerUp() {
  if (locating === null) return;
  const bar = locating;
  locating = null;
  song("locate", { bar, quantized: false });
}

function rulerKey(event) {
  const moves = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1 };
  if (event.key in moves) {
    event.preventDefault();
    song(moves[event.key] < 0 ? "rewind" : "forward");
  } else if (event.key === "Home") {
    event.preventDefault();
    song("locate", { bar: 0, quantized: false });
  }
}

function setLoop(enabled) {
  const startBar = Math.max(0, Math.round(Number($("#loop-start").value)) - 1);
  const endBar = Math.max(1, Math.round(Number($("#loop-end").value)));   // the daemon says when it is before the start
  return setLoopRegion(startBar, endBar, enabled);
}

// ---- clip dragging --------------------------------------------------------------------------------

function clipDown(event) {
  if (event.button > 0) return;
  const node = event.currentTarget;
  node.setPointerCapture(event.pointerId);
  const trackIndex = tracks().findIndex((track) => track.trackId === node.trackId);
  drag = { node, mode: event.target.classList.contains("clip-resize") ? "resize" : "move", x0: event.clientX,
    y0: event.clientY, moved: false, clip: node.clip, trackIndex, newTrack: trackIndex,
    rowPx: node.closest(".tl-row").offsetHeight, newStart: node.clip.startBar, newDuration: node.clip.durationBars };
  select(node.trackId, node.dataset.key);
}

function clipMove(event) {
  if (!drag || drag.node !== event.currentTarget) return;
  const dx = event.clientX - drag.x0;
  const dy = event.clientY - drag.y0;
  if (!drag.moved && Math.hypot(dx, dy) < 6) return;
  drag.moved = true;
  if (drag.mode === "move") {
    drag.newStart = Math.max(0, drag.clip.startBar + Math.round(dx / barPx));
    drag.newTrack = clamp(drag.trackIndex + Math.round(dy / drag.rowPx), 0, tracks().length - 1);
    drag.node.style.left = `${drag.newStart * barPx}px`;
    drag.node.style.transform = `translateY(${(drag.newTrack - drag.trackIndex) * drag.rowPx}px)`;
  } else {
    drag.newDuration = Math.max(1, Math.round(drag.clip.durationBars + dx / barPx));
    drag.node.style.width = `${drag.newDuration * barPx}px`;
  }
}

function clipUp(event) {
  if (!drag || drag.node !== event.currentTarget) return;
  const done = drag;
  drag = null;
  const unchanged = done.newStart === done.clip.startBar && done.newTrack === done.trackIndex &&
    done.newDuration === done.clip.durationBars;
  if (!done.moved || unchanged) {
    if (renderWaiting) render();
    return;
  }
  const target = tracks()[done.newTrack]?.trackId;
  moveClip(done.clip.clipId, { startBar: done.newStart, durationBars: done.newDuration }, target);
}

function clipCancel() {
  drag = null;
  render();
}

function moveClip(clipId, changes, toTrackId) {
  focusClipId = document.activeElement?.dataset?.key === clipId ? clipId : null;
  return saveSong((project) => {
    const found = findClip(project, clipId);
    if (!found) return false;
    Object.assign(found.clip, changes);
    const target = project.tracks.find((track) => track.trackId === toTrackId);
    if (target && target !== found.track) {
      found.track.clips = found.track.clips.filter((clip) => clip.clipId !== clipId);
      target.clips.push(found.clip);
      selected = { trackId: target.trackId, clipId };
      selectedTrackId = target.trackId;
    }
    return true;
  });
}

function clipKey(event) {
  const node = event.currentTarget;
  const clip = node.clip;
  const index = tracks().findIndex((track) => track.trackId === node.trackId);
  const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
  if (step && event.shiftKey) moveClip(clip.clipId, { durationBars: Math.max(1, Math.round(clip.durationBars) + step) });
  else if (step) moveClip(clip.clipId, { startBar: Math.max(0, clip.startBar + step) });
  else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
    const target = tracks()[clamp(index + (event.key === "ArrowUp" ? -1 : 1), 0, tracks().length - 1)];
    moveClip(clip.clipId, {}, target.trackId);
  } else if (event.key === "Delete" || event.key === "Backspace") deleteClip(clip.clipId);
  else if (event.key === "d" || event.key === "D") duplicateClip(clip.clipId);
  else return;
  event.preventDefault();
}

// ---- arrangement edits ----------------------------------------------------------------------------

function duplicateClip(clipId) {
  const copyId = randomId();
  return saveSong((project) => {
    const found = findClip(project, clipId);
    if (!found) return false;
    const copy = { ...found.clip, clipId: copyId, startBar: found.clip.startBar + Math.ceil(found.clip.durationBars) };
    found.track.clips.push(copy);
    selected = { trackId: found.track.trackId, clipId: copyId };
    return true;
  });
}

function deleteClip(clipId) {
  selected = null;
  return saveSong((project) => {
    const found = findClip(project, clipId);
    if (!found) return false;
    found.track.clips = found.track.clips.filter((clip) => clip.clipId !== clipId);
    return true;
  });
}

function renameTrack(trackId, name) {
  return saveSong((project) => {
    const track = project.tracks.find((item) => item.trackId === trackId);
    if (!track) return false;
    track.trackName = name.trim().slice(0, 100);
    return true;
  });
}

async function deleteTrack(trackId) {
  const track = tracks().find((item) => item.trackId === trackId);
  if (!track) return;
  const clips = track.clips.length;
  if (clips && !await ask(`Delete ${track.trackName || "this track"} and its ${clips} clip${clips > 1 ? "s" : ""}?`,
    { ok: "Delete", danger: true })) return;
  await saveSong((project) => { project.tracks = project.tracks.filter((item) => item.trackId !== trackId); });
}

const mixTrack = throttle((trackId, change) => mixTrackNow(trackId, change), 120);

function mixTrackNow(trackId, change) {
  return act(() => api("PATCH", "/api/mixer", { tracks: [{ trackId, ...change }] }));
}

function zoom(factor) {
  barPx = clamp(Math.round(barPx * factor), MIN_BAR_PX, MAX_BAR_PX);
  render();
}

export function initSong() {
  $("#song-rewind").addEventListener("click", () => song("rewind"));
  $("#song-play").addEventListener("click", () => song("play"));
  $("#song-pause").addEventListener("click", () => song("stop"));
  $("#song-stop").addEventListener("click", async () => { await song("stop"); await song("locate", { bar: 0, quantized: false }); });
  $("#song-forward").addEventListener("click", () => song("forward"));
  $("#song-metronome").addEventListener("click", () => act(() => api("PATCH", "/api/transport",
    { metronome: !state.transport?.metronome })));
  $("#song-loop").addEventListener("click", () => setLoop(!loopNow().enabled));
  $("#loop-start").addEventListener("change", () => {
    // A start past the end moves the end along (same length), so typing a new region start never errs.
    const loop = loopNow();
    const start = Math.round(Number($("#loop-start").value));
    if (Math.round(Number($("#loop-end").value)) < start) $("#loop-end").value = start + loop.endBar - loop.startBar - 1;
    setLoop(Boolean(loop.enabled));
  });
  $("#loop-end").addEventListener("change", () => setLoop(Boolean(loopNow().enabled)));
  $("#track-add").addEventListener("click", () => saveSong((project) => { selectedTrackId = newTrack(project).trackId; }));
  $("#clip-add").addEventListener("click", () => openClipSheet(null, selectedTrackId));
  $("#clip-duplicate").addEventListener("click", () => selected && duplicateClip(selected.clipId));
  $("#clip-delete").addEventListener("click", () => selected && deleteClip(selected.clipId));
  initClipSheet();
  on("clip-added", ({ trackId, clipId }) => select(trackId, clipId));
  on("project", render);
  on("pads", (indices) => { if (!indices) render(); });
  on("transport", drawTransport);
  on("library", () => records.clear());
}
