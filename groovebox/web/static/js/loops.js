// Library loops as the other views need them: records (cached), the "choose a loop" and "choose a pad"
// dialogs, and how a loop is described in one line.

import { api, query } from "./api.js";
import { on, state } from "./store.js";
import { $, debounce, formatBpm, formatSeconds, h, keyed, showDialog, toast } from "./ui.js";

export const CATEGORIES = ["drums", "bass", "synth", "keys", "vocals", "fx", "ambient", "other"];
export const PADS_PER_BANK = 16;

const records = new Map();

export function loopRecord(loopId) {
  if (!records.has(loopId)) {
    const request = api("GET", `/api/loops/${encodeURIComponent(loopId)}`)
      .catch((error) => { records.delete(loopId); throw error; });
    records.set(loopId, request);
  }
  return records.get(loopId);
}

export function rememberLoop(record) {
  records.set(record.loopId, Promise.resolve(record));
}

export function forgetLoop(loopId) {
  records.delete(loopId);
}

export function describeLoop(record) {
  return [record.category, formatSeconds(record.durationSeconds), formatBpm(record.bpm)]
    .filter(Boolean).join(" · ");
}

// How many bars a loop lasts at the project tempo (its own bars when the library knows them).
export function loopBars(record, bpm, beatsPerBar = 4) {
  if (record?.bars) return record.bars;
  if (!record?.durationSeconds) return 1;
  return Math.max(1, Math.round((record.durationSeconds * (record.bpm || bpm)) / 60 / beatsPerBar));
}

export function padLabel(index) {
  const bank = String.fromCharCode(65 + Math.floor(index / PADS_PER_BANK));
  return state.pads.length > PADS_PER_BANK ? `${bank}${(index % PADS_PER_BANK) + 1}` : `${index + 1}`;
}

export function padTitle(pad) {
  return pad?.padName || (pad?.loopId ? "loop" : "empty");
}

// ---- choose a loop --------------------------------------------------------------------------------

let pickResolve = null;

async function fillPickList() {
  const search = $("#pick-search").value.trim();
  const page = await api("GET", query("/api/loops", { search, limit: 100 }));
  const list = $("#pick-list");
  keyed(list, page.loops, (loop) => loop.loopId, (loop) => h("button", {
    type: "button", class: "pick-item",
    onclick: () => { rememberLoop(loop); finishPick(loop); },
  }), (node, loop) => {
    node.replaceChildren(h("span", { class: "pick-name" }, loop.loopName),
      h("span", { class: "muted" }, `${loop.source} · ${describeLoop(loop)}`));
  });
  if (!page.loops.length) list.replaceChildren(h("p", { class: "muted" }, "No loops match."));
}

function finishPick(value) {
  const resolve = pickResolve;
  pickResolve = null;
  $("#pick-dialog").close();
  if (resolve) resolve(value);
}

export async function pickLoop(title = "Choose a loop") {
  $("#pick-title").textContent = title;
  $("#pick-search").value = "";
  $("#pick-list").replaceChildren();
  const chosen = new Promise((resolve) => { pickResolve = resolve; });
  showDialog($("#pick-dialog"));
  await fillPickList().catch((error) => toast(error.message));
  return chosen;
}

// ---- choose a pad ---------------------------------------------------------------------------------

let padResolve = null;
let padBank = 0;

function drawPadChoices() {
  const banks = Math.ceil(state.pads.length / PADS_PER_BANK);
  const bankRow = $("#pad-pick-banks");
  bankRow.hidden = banks <= 1;
  bankRow.replaceChildren(...Array.from({ length: banks }, (_, bank) => h("button", {
    type: "button", "aria-pressed": String(bank === padBank),
    onclick: () => { padBank = bank; drawPadChoices(); },
  }, `Bank ${String.fromCharCode(65 + bank)}`)));
  const pads = state.pads.slice(padBank * PADS_PER_BANK, (padBank + 1) * PADS_PER_BANK);
  $("#pad-pick-grid").replaceChildren(...pads.map((pad) => h("button", {
    type: "button", class: "pad-choice", "data-state": pad.state,
    "aria-label": `Pad ${padLabel(pad.padIndex)}: ${padTitle(pad)}`,
    onclick: () => finishPadPick(pad.padIndex),
  }, h("span", { class: "pad-number" }, padLabel(pad.padIndex)), h("span", { class: "pad-name" }, padTitle(pad)))));
}

function finishPadPick(value) {
  const resolve = padResolve;
  padResolve = null;
  $("#pad-pick-dialog").close();
  if (resolve) resolve(value);
}

export function pickPad(title = "Choose a pad") {
  $("#pad-pick-title").textContent = title;
  drawPadChoices();
  const chosen = new Promise((resolve) => { padResolve = resolve; });
  showDialog($("#pad-pick-dialog"));
  return chosen;
}

export function setPickerBank(bank) {
  padBank = bank;
}

export function initLoopDialogs() {
  $("#pick-search").addEventListener("input", debounce(() => fillPickList().catch((error) => toast(error.message)), 250));
  $("#pick-dialog").addEventListener("close", () => finishPick(null));
  $("#pad-pick-dialog").addEventListener("close", () => finishPadPick(null));
  on("library", () => records.clear());
}
