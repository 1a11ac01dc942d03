// The ambient scene's layer strips: one per layer, with volume, pan, reverb and delay sends, drift,
// intensity and the loop points.
//
// A layer's volume, pan, sends and loop points are its pad's settings, so the strip reads them from the
// project (kept fresh by PROJECT_UPDATED) and writes them with PATCH /api/pads/{n} and /api/pads/{n}/sends.
// Drift and intensity exist only in the running scene (GET /api/scene): drift is PATCHed while the slider
// moves, intensity re-renders the layer in a worker, so it is sent when the slider is let go. Each control
// has its own throttle, so two requests from one slider are never in flight together. The loop points open
// the pad's settings sheet at its waveform region editor (pads.js).

import { api } from "./api.js";
import { state } from "./store.js";
import { loopRecord, padLabel } from "./loops.js";
import { openSettings } from "./pads.js";
import { showLoopWave } from "./wave.js";
import { $, act, h, holdWhileDragging, keyed, setValue, throttle } from "./ui.js";

const WRITE_MS = 100;
const WAVE_POINTS = 96;
const REVERB_BUS = 0;
const DELAY_BUS = 1;

const throttles = new Map();      // "48:volume" -> a throttled request for that control
const durations = new Map();      // loopId -> seconds, once fetched
let onScene = () => {};           // called with GET /api/scene's answer after a drift/intensity change

// ---- words --------------------------------------------------------------------------------------------

export function kindName(kind) {
  const words = String(kind ?? "layer").replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function decibels(volume) {
  if (!(volume > 0.0005)) return "\u2212\u221e dB";
  const db = 20 * Math.log10(volume);
  return `${db < -0.05 ? "\u2212" : ""}${Math.abs(db).toFixed(1)} dB`;
}

function panWords(pan) {
  if (Math.abs(pan) < 0.005) return "centre";
  return `${Math.round(Math.abs(pan) * 100)} % ${pan < 0 ? "L" : "R"}`;
}

const percent = (value) => `${Math.round(Number(value) * 100)} %`;

// ---- writing ------------------------------------------------------------------------------------------

function throttled(key, request, periodMs = WRITE_MS) {
  if (!throttles.has(key)) throttles.set(key, throttle((body) => act(() => request(body)), periodMs));
  return throttles.get(key);
}

function patchPad(layer, field, value) {
  throttled(`${layer.pad}:${field}`, (body) => api("PATCH", `/api/pads/${layer.pad}`, body))({ [field]: value });
}

function patchSend(layer, bus, level) {
  throttled(`${layer.pad}:send${bus}`, (body) => api("PATCH", `/api/pads/${layer.pad}/sends`, body))({ bus, level });
}

function patchLayer(node, field, value, periodMs) {
  const index = node.layer.index;
  const request = async (body) => {
    if (field === "intensity") node.dataset.rendering = "1";
    try {
      const scene = await api("PATCH", `/api/scene/layers/${index}`, body);
      onScene(scene);
    } finally {
      if (field === "intensity") { node.dataset.rendering = ""; drawStrip(node, node.layer); }
    }
  };
  throttled(`layer${index}:${field}`, request, periodMs)({ [field]: value });
  if (field === "intensity") drawStrip(node, node.layer);
}

// ---- one strip ----------------------------------------------------------------------------------------

const CONTROLS = [
  // [field, caption, min, max, what a change does, how the value reads]
  ["volume", "Volume", 0, 1, (node, value) => patchPad(node.layer, "volume", value), decibels],
  ["pan", "Pan", -1, 1, (node, value) => patchPad(node.layer, "pan", value), panWords],
  ["reverb", "Reverb", 0, 1, (node, value) => patchSend(node.layer, REVERB_BUS, value), percent],
  ["delay", "Delay", 0, 1, (node, value) => patchSend(node.layer, DELAY_BUS, value), percent],
  ["drift", "Drift", 0, 1, (node, value) => patchLayer(node, "drift", value, 150), percent],
  ["intensity", "Intensity", 0, 1, (node, value) => patchLayer(node, "intensity", value, 0), percent],
];

function control(node, [field, caption, min, max, write, words]) {
  const input = h("input", { type: "range", min, max, step: 0.01, class: `layer-${field}`, "data-field": field });
  const output = h("output");
  holdWhileDragging(input);
  input.addEventListener("input", () => {
    output.textContent = words(Number(input.value));
    if (field !== "intensity") write(node, Number(input.value));
  });
  // Intensity re-renders the layer: only the value the slider is let go at (or a key press) is sent.
  if (field === "intensity") input.addEventListener("change", () => write(node, Number(input.value)));
  return h("label", { class: "layer-field" }, h("span", { class: "small-label" }, `${caption} `, output), input);
}

function loopButton(node) {
  const button = h("button", { type: "button", class: "layer-loop" },
    h("canvas", { class: "layer-wave", "aria-hidden": "true" }),
    h("span", { class: "layer-shade layer-shade-start", "aria-hidden": "true" }),
    h("span", { class: "layer-shade layer-shade-end", "aria-hidden": "true" }),
    h("span", { class: "layer-loop-text" }));
  button.addEventListener("click", () => openSettings(node.layer.pad, { atRegion: true }));
  return button;
}

function buildStrip() {
  const node = h("div", { class: "strip scene-layer", role: "group" },
    h("div", { class: "layer-head" }, h("span", { class: "strip-label layer-name" }),
      h("span", { class: "layer-pad muted" })),
    h("p", { class: "layer-desc muted" }),
    h("p", { class: "layer-missing form-error" }));
  node.append(h("div", { class: "layer-controls" }, ...CONTROLS.map((spec) => control(node, spec))),
    loopButton(node));
  return node;
}

// The pad that plays the layer, or null when it no longer holds the layer's loop (an undo, a clear).
function padOf(layer) {
  const pad = state.project?.pads.find((item) => item.padIndex === layer.pad);
  return pad && pad.loopId === layer.loopId ? pad : null;
}

function valuesOf(layer, pad) {
  return { volume: pad?.volume ?? 0, pan: pad?.pan ?? 0, reverb: pad?.sends?.[REVERB_BUS] ?? 0,
    delay: pad?.sends?.[DELAY_BUS] ?? 0, drift: layer.drift ?? 0, intensity: layer.intensity ?? 0.5 };
}

function drawControls(node, layer, pad) {
  const values = valuesOf(layer, pad);
  const name = kindName(layer.kind);
  for (const [field, caption, , , , words] of CONTROLS) {
    const input = $(`.layer-${field}`, node);
    setValue(input, values[field]);
    input.disabled = !pad && field !== "drift";
    input.setAttribute("aria-label", `${name}: ${caption.toLowerCase()}${field === "reverb" || field === "delay" ? " send" : ""}`);
    const rendering = field === "intensity" && node.dataset.rendering === "1";
    input.previousElementSibling.lastChild.textContent = rendering ? "rendering\u2026" : words(Number(input.value));
  }
}

function drawLoop(node, layer, pad) {
  const button = $(".layer-loop", node);
  const canvas = $(".layer-wave", node);
  if (canvas.dataset.loopId !== (layer.loopId ?? "")) showLoopWave(canvas, layer.loopId, WAVE_POINTS, { color: "#52c7f0" });
  button.disabled = !pad;
  const durationS = durations.get(layer.loopId);
  if (durationS === undefined) {
    loopRecord(layer.loopId).then((record) => {
      durations.set(layer.loopId, record.durationSeconds);
      if (node.layer === layer) drawLoop(node, layer, padOf(layer));
    }).catch(() => {});
  }
  const startS = pad?.loopStartOffsetSeconds ?? 0;
  const endS = pad?.loopEndOffsetSeconds ?? durationS ?? 0;
  const left = durationS ? (startS / durationS) * 100 : 0;
  const right = durationS ? (endS / durationS) * 100 : 100;
  $(".layer-shade-start", node).style.width = `${left}%`;
  $(".layer-shade-end", node).style.left = `${right}%`;
  const span = durationS === undefined ? "" : ` ${startS.toFixed(2)}\u2013${endS.toFixed(2)} s`;
  $(".layer-loop-text", node).textContent = `Loop points${span}`;
  button.setAttribute("aria-label", `${kindName(layer.kind)}: loop points${span} (edit on the waveform)`);
}

function drawStrip(node, layer) {
  node.layer = layer;
  const pad = padOf(layer);
  const name = kindName(layer.kind);
  node.setAttribute("aria-label", `Layer ${layer.index + 1}: ${name}`);
  $(".layer-name", node).textContent = name;
  const padState = state.pads[layer.pad]?.state;
  $(".layer-pad", node).textContent = `pad ${padLabel(layer.pad)}${pad && padState ? ` \u00b7 ${padState}` : ""}`;
  node.dataset.state = pad ? padState ?? "" : "empty";
  $(".layer-desc", node).textContent = layer.description ?? "";
  $(".layer-missing", node).textContent = pad ? "" :
    `Pad ${padLabel(layer.pad)} no longer holds this layer: load the scene again to remix it.`;
  drawControls(node, layer, pad);
  drawLoop(node, layer, pad);
}

// Draw `scene`'s layers (GET /api/scene) into `container`.
export function drawLayers(container, scene) {
  const layers = scene?.loaded ? scene.layers.map((layer, index) => ({ ...layer, index })) : [];
  keyed(container, layers, (layer) => `${layer.pad}:${layer.loopId}`, buildStrip, drawStrip);
}

// `handler(scene)` gets the daemon's answer to a drift or intensity change.
export function onLayerAnswer(handler) {
  onScene = handler;
}
