// The pad grid (4x4, banks of 16 when the daemon has more pads) and the pad settings sheet.
//
// Pad colours follow the controller LEDs: empty off, loaded dim in its category's colour, queued flashing
// green, playing bright green with a moving playhead, stopping flashing red. A tap sends PAD_TRIGGER over
// the WebSocket (or POSTs the trigger route when the socket is down); gate pads play while held.
// Long-press, right-click, the E key or "Edit pads" open the settings sheet; an empty pad's sheet offers
// recording into it (padrecord.js), and the pad being recorded into counts in flashing red, then shows red.
// "Clear all" empties every pad in one undoable edit (DELETE /api/pads).

import { api } from "./api.js";
import { beatNow, emit, on, state } from "./store.js";
import { send } from "./socket.js";
import { loopRecord, padLabel, padTitle, pickLoop, PADS_PER_BANK, setPickerBank } from "./loops.js";
import { drawWave, peaksOf, paintWith, showLoopWave } from "./wave.js";
import { drawRecordPart, initPadRecord, recordingPad, refreshRecord } from "./padrecord.js";
import {
  $, act, ask, clamp, h, holdWhileDragging, onLongPress, setValue, showDialog, throttle, toast,
} from "./ui.js";

const THUMB_POINTS = 64;
const REGION_POINTS = 600;
const MIN_REGION_S = 0.05;

let bank = 0;
let editing = false;
let settingsPad = null;            // the pad index the settings sheet shows
let region = null;                 // {durationS, startS, endS} while the sheet shows a loaded pad
const loopInfo = new Map();        // loopId -> record (duration, bpm, category) once fetched

// ---- the grid -------------------------------------------------------------------------------------

function cellFor(slot) {
  const button = h("button", { type: "button", class: "pad", "data-slot": slot },
    h("canvas", { class: "pad-wave", "aria-hidden": "true" }),
    h("span", { class: "pad-number", "aria-hidden": "true" }),
    h("span", { class: "pad-name" }),
    h("span", { class: "pad-playhead", "aria-hidden": "true" }));
  button.addEventListener("click", () => tapped(button));
  button.addEventListener("pointerdown", (event) => gate(button, event, true));
  for (const name of ["pointerup", "pointercancel"]) button.addEventListener(name, (event) => gate(button, event, false));
  button.addEventListener("keydown", (event) => {
    if (event.key === "e" || event.key === "E" || event.key === "ContextMenu") {
      event.preventDefault();
      openSettings(padIndexOf(button));
    }
  });
  onLongPress(button, () => openSettings(padIndexOf(button)));
  return button;
}

function padIndexOf(button) {
  return bank * PADS_PER_BANK + Number(button.dataset.slot);
}

function padAt(index) {
  return state.pads[index];
}

function tapped(button) {
  const pad = padAt(padIndexOf(button));
  if (!pad) return;
  if (editing) openSettings(pad.padIndex);
  else if (pad.state === "empty") loadInto(pad.padIndex);
  else if (pad.launchMode !== "gate") trigger(pad.padIndex, false);
}

function gate(button, event, down) {
  const pad = padAt(padIndexOf(button));
  if (!pad || pad.launchMode !== "gate" || editing || pad.state === "empty" || event.button > 0) return;
  trigger(pad.padIndex, !down);
}

function trigger(padIndex, release) {
  if (send("PAD_TRIGGER", { padIndex, velocity: 1, release })) return;
  act(() => api("POST", `/api/pads/${padIndex}/${release ? "release" : "trigger"}`, release ? undefined : {}));
}

async function loadInto(padIndex) {
  const loop = await pickLoop(`Load a loop into pad ${padLabel(padIndex)}`);
  if (loop) await act(() => api("PUT", `/api/pads/${padIndex}`, { loopId: loop.loopId, padName: loop.loopName }));
}

const hasLoop = (pad) => Boolean(pad?.loopId || pad?.audioPath);

// What a pad says about itself: its loop's name, or what the recording into it is doing.
function padWords(pad, armed) {
  if (armed) return pad.state === "recording" ? "recording" : "count-in";
  return pad.state === "empty" ? "" : padTitle(pad);
}

function drawPad(button) {
  const pad = padAt(padIndexOf(button));
  button.hidden = !pad;
  if (!pad) return;
  const armed = recordingPad() === pad.padIndex && !hasLoop(pad);
  const words = padWords(pad, armed);
  button.dataset.state = pad.state;
  button.dataset.padIndex = pad.padIndex;
  button.classList.toggle("armed", armed);
  button.querySelector(".pad-number").textContent = padLabel(pad.padIndex);
  button.querySelector(".pad-name").textContent = words;
  button.setAttribute("aria-label", `Pad ${padLabel(pad.padIndex)}: ${words || padTitle(pad)}, ${pad.state}`);
  const canvas = button.querySelector(".pad-wave");
  if (canvas.dataset.loopId !== (pad.loopId ?? "")) showLoopWave(canvas, pad.loopId, THUMB_POINTS, { color: "#ffffff" });
  if (pad.loopId) rememberInfo(pad.loopId, button);
  else delete button.dataset.category;
}

function rememberInfo(loopId, button) {
  const known = loopInfo.get(loopId);
  if (known) { button.dataset.category = known.category; return; }
  loopRecord(loopId).then((record) => {
    loopInfo.set(loopId, record);
    drawGrid();
  }).catch(() => {});
}

function drawGrid(indices) {
  const buttons = [...$("#pad-grid").children];
  for (const button of buttons) {
    if (!indices || indices.includes(padIndexOf(button))) drawPad(button);
  }
}

function drawBanks() {
  const banks = Math.ceil(state.pads.length / PADS_PER_BANK);
  const row = $("#bank-select");
  row.hidden = banks <= 1;
  if (row.children.length !== banks) {
    row.replaceChildren(...Array.from({ length: banks }, (_, index) => h("button", {
      type: "button", onclick: () => { bank = index; setPickerBank(index); drawBanks(); drawGrid(); },
    }, `Bank ${String.fromCharCode(65 + index)}`)));
  }
  [...row.children].forEach((button, index) => button.setAttribute("aria-pressed", String(index === bank)));
}

// ---- the playhead (every animation frame) ---------------------------------------------------------

function playheadFraction(pad, record) {
  const tempo = state.transport?.tempoBpm ?? 120;
  const start = pad.loopStartOffsetSeconds ?? 0;
  const end = pad.loopEndOffsetSeconds ?? record.durationSeconds;
  const regionBeats = ((end - start) * (pad.nativeBpm || tempo)) / 60;
  if (!(regionBeats > 0) || !record.durationSeconds) return null;
  const started = state.padStartBeat.get(pad.padIndex) ?? beatNow();
  const within = (((beatNow() - started) / regionBeats) % 1 + 1) % 1;
  return (start + within * (end - start)) / record.durationSeconds;
}

export function animatePads() {
  if ($("#view-pads").hidden) return;
  for (const button of $("#pad-grid").children) {
    const pad = padAt(padIndexOf(button));
    const record = pad?.loopId ? loopInfo.get(pad.loopId) : null;
    const fraction = pad?.state === "playing" && record ? playheadFraction(pad, record) : null;
    const playhead = button.querySelector(".pad-playhead");
    playhead.hidden = fraction === null;
    if (fraction !== null) playhead.style.left = `${(fraction * 100).toFixed(2)}%`;
  }
}

// ---- the settings sheet ---------------------------------------------------------------------------

const patchPad = throttle((padIndex, change) => act(() => api("PATCH", `/api/pads/${padIndex}`, change)), 120);

// Open pad `padIndex`'s settings sheet; `atRegion` puts the keyboard on the loop start handle (the scene
// screen's "loop points").
export function openSettings(padIndex, { atRegion = false } = {}) {
  const pad = padAt(padIndex);
  if (!pad) return;
  settingsPad = padIndex;
  region = null;
  drawSettings();
  showDialog($("#pad-dialog"));
  loadRegion(pad);
  if (!hasLoop(pad)) refreshRecord();
  else if (atRegion) {
    $("#region-start").focus();
    $(".region").scrollIntoView({ block: "center" });
  }
}

function drawSettings() {
  const pad = padAt(settingsPad);
  if (settingsPad === null || !pad) return;
  const loaded = hasLoop(pad);
  $("#pad-dialog-title").textContent = `Pad ${padLabel(pad.padIndex)}`;
  const info = pad.loopId ? loopInfo.get(pad.loopId) : null;
  $("#pad-dialog-loop").textContent = loaded ? `Loop: ${info?.loopName ?? pad.loopId ?? pad.audioPath}` :
    "This pad is empty: load a loop from the library, or record into it.";
  drawRecordPart(pad, loaded);
  // An empty pad's sheet offers only what an empty pad can do: load a loop or record into it.
  for (const id of ["#pad-name", "#pad-volume", "#pad-pan", "#pad-launch-mode"]) $(id).closest("label").hidden = !loaded;
  for (const id of [".region", "#pad-vary", "#pad-clear"]) $(id).hidden = !loaded;
  setValue($("#pad-name"), pad.padName ?? "");
  setValue($("#pad-volume"), pad.volume ?? 0.8);
  setValue($("#pad-pan"), pad.pan ?? 0);
  setValue($("#pad-launch-mode"), pad.launchMode ?? "toggle");
  $("#pad-volume-out").textContent = `${Math.round((pad.volume ?? 0.8) * 100)} %`;
  $("#pad-pan-out").textContent = panText(pad.pan ?? 0);
  if (region) {
    region.startS = pad.loopStartOffsetSeconds ?? 0;
    region.endS = pad.loopEndOffsetSeconds ?? region.durationS;
    drawRegion();
  }
}

function panText(pan) {
  if (Math.abs(pan) < 0.005) return "centre";
  return `${Math.round(Math.abs(pan) * 100)} % ${pan < 0 ? "left" : "right"}`;
}

async function loadRegion(pad) {
  const canvas = $("#region-wave");
  $("#region-editor").hidden = !pad.loopId;
  if (!pad.loopId) { paintWith(canvas, () => drawWave(canvas, null)); return; }
  try {
    const [record, peaks] = await Promise.all([loopRecord(pad.loopId), peaksOf(pad.loopId, REGION_POINTS)]);
    if (settingsPad !== pad.padIndex) return;
    loopInfo.set(pad.loopId, record);
    region = { durationS: record.durationSeconds, startS: 0, endS: record.durationSeconds };
    paintWith(canvas, () => drawWave(canvas, peaks, { color: "#8fd3ff" }));
    drawSettings();
  } catch (error) {
    $("#pad-dialog-loop").textContent = error.message;
  }
}

function drawRegion() {
  const { durationS, startS, endS } = region;
  const left = (startS / durationS) * 100;
  const right = (endS / durationS) * 100;
  $("#region-start").style.left = `${left}%`;
  $("#region-end").style.left = `${right}%`;
  $(".region-shade-start").style.width = `${left}%`;
  $(".region-shade-end").style.left = `${right}%`;
  $(".region-shade-end").style.width = `${100 - right}%`;
  for (const [id, value] of [["#region-start", startS], ["#region-end", endS]]) {
    $(id).setAttribute("aria-valuemin", "0");
    $(id).setAttribute("aria-valuemax", durationS.toFixed(3));
    $(id).setAttribute("aria-valuenow", value.toFixed(3));
    $(id).setAttribute("aria-valuetext", `${value.toFixed(2)} seconds`);
  }
  setValue($("#region-start-s"), startS.toFixed(3));
  setValue($("#region-end-s"), endS.toFixed(3));
}

function moveRegion(which, seconds) {
  if (!region) return;
  if (which === "start") region.startS = clamp(seconds, 0, region.endS - MIN_REGION_S);
  else region.endS = clamp(seconds, region.startS + MIN_REGION_S, region.durationS);
  drawRegion();
}

function commitRegion() {
  if (!region || settingsPad === null) return;
  const end = region.endS >= region.durationS - 1e-3 ? null : Number(region.endS.toFixed(4));
  act(() => api("PATCH", `/api/pads/${settingsPad}`,
    { loopStartOffsetSeconds: Number(region.startS.toFixed(4)), loopEndOffsetSeconds: end }));
}

function dragHandle(handle, which) {
  handle.addEventListener("pointerdown", (event) => {
    handle.setPointerCapture(event.pointerId);
    handle.dataset.dragging = "1";
  });
  handle.addEventListener("pointermove", (event) => {
    if (handle.dataset.dragging !== "1" || !region) return;
    const box = $("#region-editor").getBoundingClientRect();
    moveRegion(which, ((event.clientX - box.left) / box.width) * region.durationS);
  });
  const finish = () => {
    if (handle.dataset.dragging !== "1") return;
    handle.dataset.dragging = "";
    commitRegion();
  };
  handle.addEventListener("pointerup", finish);
  handle.addEventListener("pointercancel", finish);
  handle.addEventListener("keydown", (event) => {
    if (!region) return;
    const step = event.shiftKey ? region.durationS / 10 : region.durationS / 100;
    const current = which === "start" ? region.startS : region.endS;
    const moves = { ArrowLeft: -step, ArrowDown: -step, ArrowRight: step, ArrowUp: step };
    if (event.key in moves) {
      event.preventDefault();
      moveRegion(which, current + moves[event.key]);
      commitRegion();
    }
  });
}

function initSettings() {
  const name = $("#pad-name");
  name.addEventListener("change", () => act(() => api("PATCH", `/api/pads/${settingsPad}`, { padName: name.value })));
  for (const [id, field] of [["#pad-volume", "volume"], ["#pad-pan", "pan"]]) {
    const input = $(id);
    holdWhileDragging(input);
    input.addEventListener("input", () => {
      $(`${id}-out`).textContent = field === "volume" ? `${Math.round(input.value * 100)} %` : panText(Number(input.value));
      patchPad(settingsPad, { [field]: Number(input.value) });
    });
  }
  $("#pad-launch-mode").addEventListener("change", (event) => act(() => api("PATCH", `/api/pads/${settingsPad}`,
    { launchMode: event.target.value })));
  dragHandle($("#region-start"), "start");
  dragHandle($("#region-end"), "end");
  $("#region-start-s").addEventListener("change", (event) => { moveRegion("start", Number(event.target.value)); commitRegion(); });
  $("#region-end-s").addEventListener("change", (event) => { moveRegion("end", Number(event.target.value)); commitRegion(); });
  $("#pad-load").addEventListener("click", async () => {
    const padIndex = settingsPad;
    $("#pad-dialog").close();
    await loadInto(padIndex);
  });
  $("#pad-clear").addEventListener("click", async () => {
    const padIndex = settingsPad;
    if (!await ask(`Clear pad ${padLabel(padIndex)}? (Undo brings it back.)`, { ok: "Clear", danger: true })) return;
    $("#pad-dialog").close();
    await act(() => api("DELETE", `/api/pads/${padIndex}`));
  });
  $("#pad-vary").addEventListener("click", () => {
    const pad = padAt(settingsPad);
    $("#pad-dialog").close();
    if (pad?.loopId) emit("vary", pad.loopId);
  });
  $("#pad-dialog").addEventListener("close", () => { settingsPad = null; region = null; });
}

async function clearAll() {
  if (!await ask("Take every loop off every pad? The loops stay in the library, and Undo brings the pads back.",
    { ok: "Clear all pads", danger: true })) return;
  if (await act(() => api("DELETE", "/api/pads"))) toast("Every pad is empty (Undo brings them back)", "info");
}

export function initPads() {
  $("#pad-grid").replaceChildren(...Array.from({ length: PADS_PER_BANK }, (_, slot) => cellFor(slot)));
  $("#pads-edit").addEventListener("click", (event) => {
    editing = !editing;
    event.currentTarget.setAttribute("aria-pressed", String(editing));
    $("#pad-grid").classList.toggle("editing", editing);
  });
  $("#stop-all").addEventListener("click", () => act(() => api("POST", "/api/transport", { action: "stop_all" })));
  $("#pads-clear").addEventListener("click", clearAll);
  $("#quantize").addEventListener("change", (event) => act(() => api("PATCH", "/api/transport",
    { quantize: event.target.value })));
  initSettings();
  initPadRecord();
  on("record", () => { drawGrid(); drawSettings(); });
  on("pads", (indices) => { drawBanks(); drawGrid(indices ?? undefined); if (!indices) drawSettings(); });
  on("project", () => {
    if (state.project) setValue($("#quantize"), state.project.quantizeGrid);
    drawSettings();
  });
}
