// The effects part of the mixer screen: the four send buses and the master insert, each an effect chain
// (reverb, delay, filter, compressor, EQ) with on/off switches and each effect's main parameters.
//
// PUT /api/effects replaces the whole effects document, so every change is read-modify-write on a draft: the
// first change copies the project's document, later changes edit the draft, and the draft is sent whole at
// most once every MIN_PUT_MS (a slider drag becomes at most 8 writes a second; the daemon merges quick
// repeats into one undo step). One PUT is in flight at a time; the draft is dropped once the daemon has
// confirmed its last version (its answer becomes the project's document) or refused it (the sentence is
// shown and the page redraws from the project). While a draft exists the page shows the draft, so a
// PROJECT_UPDATED echo cannot pull a slider back. Undo and other phones' edits arrive as PROJECT_UPDATED.

import { api } from "./api.js";
import { emit, on, state } from "./store.js";
import { $, h, keyed, setValue, toast, holdWhileDragging } from "./ui.js";

export const BUS_COUNT = 4;
const MAX_CHAIN = 8;
const MIN_PUT_MS = 125;
const CUTOFF_MIN_HZ = 20;
const CUTOFF_MAX_HZ = 20000;

const percent = (value) => `${Math.round(value * 100)} %`;
const decibels = (value) => `${value > 0 ? "+" : ""}${value.toFixed(1)} dB`;
const hertz = (value) => (value >= 1000 ? `${(value / 1000).toFixed(value >= 10000 ? 1 : 2)} kHz` : `${Math.round(value)} Hz`);

// The parameters the page edits, per effect type: [field, label, min, max, step, default, format]. A field
// with `log` is a frequency on a logarithmic slider (0..1000 steps from 20 Hz to 20 kHz).
const PARAMS = {
  reverb: [["roomSize", "Room size", 0, 1, 0.01, 0.5, percent], ["damping", "Damping", 0, 1, 0.01, 0.5, percent],
    ["wetLevel", "Wet", 0, 1, 0.01, 0.33, percent], ["dryLevel", "Dry", 0, 1, 0.01, 0.4, percent]],
  delay: [["delaySeconds", "Time", 0.01, 2, 0.01, 0.5, (value) => `${Math.round(value * 1000)} ms`],
    ["feedback", "Feedback", 0, 0.95, 0.01, 0, percent], ["mix", "Mix", 0, 1, 0.01, 0.5, percent]],
  filter: [["cutoffHz", "Cutoff", 0, 1000, 1, 1000, hertz, "log"], ["resonance", "Resonance", 0, 1, 0.01, 0, percent]],
  compressor: [["thresholdDb", "Threshold", -60, 0, 0.5, 0, decibels],
    ["ratio", "Ratio", 1, 20, 0.1, 1, (value) => `${value.toFixed(1)}:1`]],
  eq: [["lowGainDb", "Low", -24, 24, 0.5, 0, decibels], ["midGainDb", "Mid", -24, 24, 0.5, 0, decibels],
    ["highGainDb", "High", -24, 24, 0.5, 0, decibels]],
};
const NAMES = { reverb: "Reverb", delay: "Delay", filter: "Filter", compressor: "Compressor", eq: "EQ" };
const FILTER_MODES = ["lowpass", "highpass", "bandpass"];
// On a send bus the return is added to the dry mix: a bus reverb is all wet, a bus delay all echo.
const ON_A_BUS = { reverb: { dryLevel: 0, wetLevel: 0.5 }, delay: { mix: 1, feedback: 0.35 } };

let draft = null;          // the effects document being edited (all buses listed), or null
let version = 0;           // bumped by every change to the draft
let sending = false;
let timer = null;
let lastPutAt = -Infinity;

// ---- the document -----------------------------------------------------------------------------------

function normalised(effects) {
  const copy = structuredClone(effects ?? { buses: [], master: [] });
  while (copy.buses.length < BUS_COUNT) copy.buses.push({ enabled: true, name: "", chain: [] });
  return copy;
}

// The effects the page shows: the draft while one is being edited, else the project's.
export function currentEffects() {
  return draft ?? normalised(state.project?.effects);
}

export function busName(effects, index) {
  const bus = effects.buses[index];
  return bus?.name?.trim() || `Bus ${index + 1}`;
}

function chainOf(effects, slot) {
  return slot === "master" ? effects.master : effects.buses[slot].chain;
}

function change(mutate) {
  if (!draft) draft = normalised(state.project?.effects);
  mutate(draft);
  version += 1;
  schedule();
  draw();
  emit("effects");
}

function schedule() {
  if (timer || sending) return;             // a sent PUT reschedules itself when it is answered
  const waitMs = Math.max(0, MIN_PUT_MS - (performance.now() - lastPutAt));
  timer = setTimeout(put, waitMs);
}

async function put() {
  timer = null;
  if (!draft) return;
  const sent = version;
  sending = true;
  lastPutAt = performance.now();
  try {
    const answer = await api("PUT", "/api/effects", draft);
    if (version === sent) {
      draft = null;
      if (state.project) state.project.effects = answer.effects;
    }
  } catch (error) {
    toast(error.message);
    draft = null;
  } finally {
    sending = false;
    if (draft && version !== sent) schedule();
    draw();
    emit("effects");
  }
}

// ---- editing ----------------------------------------------------------------------------------------

function addEffect(slot, type) {
  const effect = { type, enabled: true, ...(slot === "master" ? {} : ON_A_BUS[type]) };
  change((effects) => { chainOf(effects, slot).push(effect); });
}

function removeEffect(slot, index) {
  change((effects) => { chainOf(effects, slot).splice(index, 1); });
}

function setEffect(slot, index, field, value) {
  change((effects) => { chainOf(effects, slot)[index][field] = value; });
}

function setBus(index, field, value) {
  change((effects) => { effects.buses[index][field] = value; });
}

// ---- drawing ----------------------------------------------------------------------------------------

function slots(effects) {
  const list = effects.buses.map((bus, index) => ({ key: `bus-${index}`, slot: index, title: `Bus ${index + 1}`,
    owner: busName(effects, index), chain: bus.chain, bus }));
  list.push({ key: "master", slot: "master", title: "Master insert", owner: "the master", chain: effects.master,
    bus: null });
  return list;
}

function toggleButton(className, onclick) {
  return h("button", { type: "button", class: `fx-toggle ${className}`, "aria-pressed": "true", onclick }, "On");
}

function slotOf(node) {
  const key = node.closest(".fx-slot").dataset.key;
  return key === "master" ? "master" : Number(key.slice(4));
}

function buildSlot(item) {
  const node = h("section", { class: "card fx-slot" },
    h("div", { class: "fx-head" }, h("h3", { class: "fx-title" })),
    h("div", { class: "fx-chain" }),
    h("label", { class: "inline-field fx-add-label" }, "Add",
      h("select", { class: "fx-add", onchange: (event) => {
        const type = event.currentTarget.value;
        event.currentTarget.value = "";
        if (type) addEffect(slotOf(node), type);
      } }, h("option", { value: "" }, "an effect…"),
      ...Object.entries(NAMES).map(([type, name]) => h("option", { value: type }, name)))));
  if (item.bus) {
    const name = h("input", { class: "fx-bus-name", maxLength: 40, placeholder: `Bus ${item.slot + 1}` });
    name.addEventListener("change", () => setBus(slotOf(node), "name", name.value.trim()));
    $(".fx-head", node).append(name, toggleButton("fx-bus-on", () => {
      const bus = currentEffects().buses[slotOf(node)];
      setBus(slotOf(node), "enabled", !bus.enabled);
    }));
  }
  return node;
}

function drawSlot(node, item) {
  node.setAttribute("aria-label", item.bus ? `${item.title}: ${item.owner}` : item.title);
  $(".fx-title", node).textContent = item.title;
  if (item.bus) {
    const name = $(".fx-bus-name", node);
    setValue(name, item.bus.name ?? "");
    name.setAttribute("aria-label", `Name of bus ${item.slot + 1}`);
    const on = $(".fx-bus-on", node);
    on.setAttribute("aria-pressed", String(item.bus.enabled !== false));
    on.setAttribute("aria-label", `${item.owner} on`);
  }
  const add = $(".fx-add", node);
  add.disabled = item.chain.length >= MAX_CHAIN;
  add.setAttribute("aria-label", `Add an effect to ${item.owner}`);
  const effects = item.chain.map((effect, index) => ({ effect, index, owner: item.owner }));
  keyed($(".fx-chain", node), effects, (entry) => `${entry.index}-${entry.effect.type}`, buildEffect, drawEffect);
  if (!item.chain.length) $(".fx-chain", node).replaceChildren(h("p", { class: "muted fx-empty" }, "No effects."));
}

function effectPlace(node) {
  return [slotOf(node), Number(node.closest(".fx-effect").dataset.key.split("-")[0])];
}

function buildEffect(entry) {
  const type = entry.effect.type;
  const node = h("div", { class: "fx-effect", "data-type": type },
    h("div", { class: "fx-effect-head" }, h("span", { class: "fx-name" }, NAMES[type] ?? type),
      toggleButton("fx-on", () => {
        const [slot, index] = effectPlace(node);
        setEffect(slot, index, "enabled", chainOf(currentEffects(), slot)[index].enabled === false);
      }),
      h("button", { type: "button", class: "icon danger fx-remove", onclick: () => removeEffect(...effectPlace(node)) },
        "\u00d7")),
    h("div", { class: "fx-params" }));
  if (type === "filter") $(".fx-params", node).append(modeField(node));
  for (const param of PARAMS[type] ?? []) $(".fx-params", node).append(paramField(node, param));
  return node;
}

function modeField(node) {
  const select = h("select", { class: "fx-mode" }, ...FILTER_MODES.map((mode) => h("option", { value: mode }, mode)));
  select.addEventListener("change", () => setEffect(...effectPlace(node), "mode", select.value));
  return h("label", { class: "fx-param" }, "Mode", select);
}

const toSlider = (param, value) => (param[7] === "log"
  ? Math.round((1000 * Math.log(value / CUTOFF_MIN_HZ)) / Math.log(CUTOFF_MAX_HZ / CUTOFF_MIN_HZ)) : value);
const fromSlider = (param, value) => (param[7] === "log"
  ? Math.round(CUTOFF_MIN_HZ * (CUTOFF_MAX_HZ / CUTOFF_MIN_HZ) ** (value / 1000)) : value);

function paramField(node, param) {
  const [field, label, min, max, step] = param;
  const input = h("input", { type: "range", min, max, step, class: "fx-slider", "data-field": field });
  holdWhileDragging(input);
  input.addEventListener("input", () => {
    const value = fromSlider(param, Number(input.value));
    input.previousElementSibling.lastChild.textContent = param[6](value);
    setEffect(...effectPlace(node), field, value);
  });
  return h("label", { class: "fx-param" }, h("span", {}, `${label} `, h("output")), input);
}

function drawEffect(node, entry) {
  const { effect, owner } = entry;
  const name = `${NAMES[effect.type] ?? effect.type} on ${owner}`;
  node.classList.toggle("off", effect.enabled === false);
  node.setAttribute("aria-label", name);
  const on = $(".fx-on", node);
  on.setAttribute("aria-pressed", String(effect.enabled !== false));
  on.setAttribute("aria-label", `${name}: on`);
  $(".fx-remove", node).setAttribute("aria-label", `Remove ${name}`);
  const mode = $(".fx-mode", node);
  if (mode) { setValue(mode, effect.mode ?? "lowpass"); mode.setAttribute("aria-label", `${name}: mode`); }
  for (const param of PARAMS[effect.type] ?? []) {
    const [field, label, , , , fallback, format] = param;
    const value = effect[field] ?? fallback;
    const input = $(`[data-field="${field}"]`, node);
    setValue(input, toSlider(param, value));
    input.setAttribute("aria-label", `${name}: ${label.toLowerCase()}`);
    input.setAttribute("aria-valuetext", format(value));
    input.previousElementSibling.lastChild.textContent = format(value);
  }
}

function draw() {
  if (!state.project) return;
  keyed($("#effects"), slots(currentEffects()), (item) => item.key, buildSlot, drawSlot);
}

export function initEffects() {
  on("project", () => { if (!draft) draw(); });
}
