// The mixer's channel strips: the master (volume and the live peak meter), a strip per loaded pad (volume,
// pan, four sends) and a strip per song track (volume, pan, mute, solo, four sends). Levels are a PATCH
// /api/mixer, sends a PATCH /api/pads/{n}/sends or /api/tracks/{id}/sends with one bus's level (undoable;
// the daemon merges a quick sweep into one undo step). Each slider sends at most every 100 ms, ending with
// its last value. The effect chains themselves are effects.js.

import { api } from "./api.js";
import { on, state } from "./store.js";
import { padLabel, padTitle } from "./loops.js";
import { BUS_COUNT, busName, currentEffects, initEffects } from "./effects.js";
import { $, $$, act, h, holdWhileDragging, keyed, setValue, throttle } from "./ui.js";

const throttles = new Map();        // "pad-3:volume", "pad-3:send1" -> a throttled PATCH for that control

function slider(kind, min, onInput) {
  const input = h("input", { type: "range", min, max: 1, step: 0.01, class: `strip-${kind}` });
  holdWhileDragging(input);
  input.addEventListener("input", () => onInput(input));
  return input;
}

function strips() {
  const project = state.project;
  if (!project) return [];
  const list = [{ key: "master", kind: "master", label: "Master", volume: project.masterVolume }];
  const pads = project.pads.filter((pad) => pad.loopId || pad.audioPath).sort((a, b) => a.padIndex - b.padIndex);
  for (const pad of pads) {
    list.push({ key: `pad-${pad.padIndex}`, kind: "pad", padIndex: pad.padIndex,
      label: `Pad ${padLabel(pad.padIndex)} · ${padTitle(pad)}`, volume: pad.volume, pan: pad.pan, sends: pad.sends });
  }
  for (const track of project.tracks) {
    list.push({ key: `track-${track.trackId}`, kind: "track", trackId: track.trackId, label: track.trackName || "Track",
      volume: track.volume, pan: track.pan, isMuted: track.isMuted, isSoloed: track.isSoloed, sends: track.sends });
  }
  return list;
}

// One throttle per control, so moving one slider never drops another's last value.
function throttled(key, request) {
  if (!throttles.has(key)) throttles.set(key, throttle((body) => act(() => request(body)), 100));
  return throttles.get(key);
}

function send(node, field, value) {
  const strip = node.strip;
  let change = { tracks: [{ trackId: strip.trackId, [field]: value }] };
  if (strip.kind === "master") change = { masterVolume: value };
  else if (strip.kind === "pad") change = { pads: [{ padIndex: strip.padIndex, [field]: value }] };
  throttled(`${strip.key}:${field}`, (body) => api("PATCH", "/api/mixer", body))(change);
}

function sendLevel(strip, bus, level) {
  const path = strip.kind === "pad" ? `/api/pads/${strip.padIndex}/sends`
    : `/api/tracks/${encodeURIComponent(strip.trackId)}/sends`;
  throttled(`${strip.key}:send${bus}`, (body) => api("PATCH", path, body))({ bus, level });
}

function sendsBlock(node) {
  return h("div", { class: "strip-sends" }, ...Array.from({ length: BUS_COUNT }, (_, bus) => {
    const input = h("input", { type: "range", min: 0, max: 1, step: 0.01, class: "strip-send", "data-bus": bus });
    holdWhileDragging(input);
    input.addEventListener("input", () => {
      input.previousElementSibling.lastChild.textContent = `${Math.round(input.value * 100)} %`;
      sendLevel(node.strip, bus, Number(input.value));
    });
    return h("label", { class: "strip-send-field" }, h("span", { class: "small-label" }, h("span"), " ", h("output")),
      input);
  }));
}

function drawSends(node, strip) {
  const effects = currentEffects();
  for (const input of $$(".strip-send", node)) {
    const bus = Number(input.dataset.bus);
    const level = strip.sends?.[bus] ?? 0;
    const name = busName(effects, bus);
    setValue(input, level);
    input.setAttribute("aria-label", `${strip.label}: send to ${name}`);
    const caption = input.previousElementSibling;
    caption.firstChild.textContent = `\u2192 ${name}`;
    caption.lastChild.textContent = `${Math.round(Number(input.value) * 100)} %`;
  }
}

function buildStrip(strip) {
  const node = h("div", { class: `strip strip-${strip.kind}`, role: "group" },
    h("span", { class: "strip-label" }),
    h("label", { class: "strip-field" }, h("span", { class: "small-label" }, "Vol"),
      slider("volume", 0, (input) => send(node, "volume", Number(input.value)))));
  if (strip.kind === "master") {
    node.append(h("div", { class: "meter", "aria-hidden": "true" }, h("div", { class: "meter-fill" }),
      h("div", { class: "meter-fill" })));
    return node;
  }
  node.append(h("label", { class: "strip-field" }, h("span", { class: "small-label" }, "Pan"),
    slider("pan", -1, (input) => send(node, "pan", Number(input.value)))));
  if (strip.kind === "track") {
    const toggle = (field) => () => act(() => api("PATCH", "/api/mixer",
      { tracks: [{ trackId: node.strip.trackId, [field]: !node.strip[field] }] }));
    node.append(h("div", { class: "strip-buttons" },
      h("button", { type: "button", class: "icon strip-mute", onclick: toggle("isMuted") }, "M"),
      h("button", { type: "button", class: "icon strip-solo", onclick: toggle("isSoloed") }, "S")));
  }
  node.append(sendsBlock(node));
  return node;
}

function drawStrip(node, strip) {
  node.strip = strip;
  node.setAttribute("aria-label", strip.label);
  $(".strip-label", node).textContent = strip.label;
  const volume = $(".strip-volume", node);
  setValue(volume, strip.volume);
  volume.setAttribute("aria-label", `${strip.label} volume`);
  const pan = $(".strip-pan", node);
  if (pan) { setValue(pan, strip.pan); pan.setAttribute("aria-label", `${strip.label} pan`); }
  for (const [selector, field, word] of [[".strip-mute", "isMuted", "Mute"], [".strip-solo", "isSoloed", "Solo"]]) {
    const button = $(selector, node);
    if (button) {
      button.setAttribute("aria-pressed", String(Boolean(strip[field])));
      button.setAttribute("aria-label", `${word} ${strip.label}`);
    }
  }
  if (strip.kind !== "master") drawSends(node, strip);
}

function draw() {
  keyed($("#mixer"), strips(), (strip) => strip.key, buildStrip, drawStrip);
}

export function initMixer() {
  initEffects();
  on("project", draw);
  on("effects", draw);
}
