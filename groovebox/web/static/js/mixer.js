// The mixer: the master strip (volume and the live peak meter), a strip per loaded pad (volume, pan) and a
// strip per song track (volume, pan, mute, solo). Every change is a PATCH /api/mixer (undoable; the daemon
// merges a quick sweep into one undo step).

import { api } from "./api.js";
import { on, state } from "./store.js";
import { padLabel, padTitle } from "./loops.js";
import { $, act, h, holdWhileDragging, keyed, setValue, throttle } from "./ui.js";

const patchMixer = throttle((change) => act(() => api("PATCH", "/api/mixer", change)), 100);

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
      label: `Pad ${padLabel(pad.padIndex)} · ${padTitle(pad)}`, volume: pad.volume, pan: pad.pan });
  }
  for (const track of project.tracks) {
    list.push({ key: `track-${track.trackId}`, kind: "track", trackId: track.trackId, label: track.trackName || "Track",
      volume: track.volume, pan: track.pan, isMuted: track.isMuted, isSoloed: track.isSoloed });
  }
  return list;
}

function send(node, field, value) {
  const strip = node.strip;
  if (strip.kind === "master") patchMixer({ masterVolume: value });
  else if (strip.kind === "pad") patchMixer({ pads: [{ padIndex: strip.padIndex, [field]: value }] });
  else patchMixer({ tracks: [{ trackId: strip.trackId, [field]: value }] });
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
}

function draw() {
  keyed($("#mixer"), strips(), (strip) => strip.key, buildStrip, drawStrip);
}

export function initMixer() {
  on("project", draw);
}
