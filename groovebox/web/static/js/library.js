// The loop library: search, category filter, sections by source (generated, uploaded, recorded, scene),
// preview in the browser, upload with progress, delete (the daemon's 409 names the projects using the loop,
// then the page offers to delete it anyway), and "to pad" / "to song".

import { api, query, uploadLoop } from "./api.js";
import { emit, on } from "./store.js";
import { CATEGORIES, describeLoop, forgetLoop, padLabel, pickPad, rememberLoop } from "./loops.js";
import { drawWave, forgetPeaks, paintWith } from "./wave.js";
import { openClipSheet } from "./clipsheet.js";
import { $, act, ask, debounce, h, keyed, toast } from "./ui.js";

const PAGE_SIZE = 60;
const SECTIONS = [["generated", "Generated"], ["uploaded", "Uploaded"], ["recorded", "Recorded"], ["scene", "Scenes"]];

let category = "";
let shown = PAGE_SIZE;
let loops = [];
let total = 0;
let previewing = null;
let loaded = false;

async function refresh() {
  const search = $("#library-search").value.trim();
  const page = await act(() => api("GET", query("/api/loops", { search, category, limit: shown })));
  if (!page) return;
  loaded = true;
  loops = page.loops;
  total = page.total;
  for (const loop of loops) rememberLoop(loop);
  draw();
}

function draw() {
  const list = $("#library-list");
  const sections = SECTIONS.map(([source, title]) => ({ source, title, loops: loops.filter((loop) => loop.source === source) }))
    .filter((section) => section.loops.length);
  keyed(list, sections, (section) => section.source, (section) => h("section", { class: "library-section" },
    h("h2", {}, section.title), h("ul", { class: "loop-list", "aria-label": `${section.title} loops` })),
  (node, section) => {
    keyed($("ul", node), section.loops, (loop) => loop.loopId, buildItem, drawItem);
  });
  if (!loops.length) {
    list.replaceChildren(h("p", { class: "muted" }, $("#library-search").value || category
      ? "No loops match." : "The library is empty: upload a loop or generate some."));
  }
  $("#library-more").hidden = loops.length >= total;
}

function buildItem() {
  const item = h("li", { class: "loop-item" },
    h("canvas", { class: "loop-wave", "aria-hidden": "true" }),
    h("div", { class: "loop-text" }, h("span", { class: "loop-name" }), h("span", { class: "loop-meta muted" })),
    h("div", { class: "loop-actions" },
      h("button", { type: "button", class: "icon loop-preview", onclick: (event) => preview(event.currentTarget) }, "\u25B6"),
      h("button", { type: "button", class: "loop-to-pad", onclick: (event) => toPad(loopOf(event)) }, "To pad"),
      h("button", { type: "button", class: "loop-to-song", onclick: (event) => openClipSheet(loopOf(event)) }, "To song"),
      h("button", { type: "button", class: "icon danger loop-delete", onclick: (event) => remove(loopOf(event)) }, "\u00d7")));
  return item;
}

function loopOf(event) {
  const key = event.currentTarget.closest(".loop-item").dataset.key;
  return loops.find((loop) => loop.loopId === key);
}

function drawItem(node, loop) {
  node.querySelector(".loop-name").textContent = loop.loopName;
  node.querySelector(".loop-meta").textContent = describeLoop(loop);
  node.dataset.category = loop.category;
  const playing = previewing === loop.loopId;
  const previewButton = node.querySelector(".loop-preview");
  previewButton.textContent = playing ? "\u25A0" : "\u25B6";
  previewButton.setAttribute("aria-label", `${playing ? "Stop preview of" : "Preview"} ${loop.loopName}`);
  node.querySelector(".loop-to-pad").setAttribute("aria-label", `Put ${loop.loopName} on a pad`);
  node.querySelector(".loop-to-song").setAttribute("aria-label", `Add ${loop.loopName} to the song`);
  node.querySelector(".loop-delete").setAttribute("aria-label", `Delete ${loop.loopName}`);
  // The list already carries each loop's peaks: no request per thumbnail (a long list stays within the rate limit).
  const canvas = node.querySelector(".loop-wave");
  if (canvas.dataset.loopId !== loop.loopId) {
    canvas.dataset.loopId = loop.loopId;
    paintWith(canvas, () => drawWave(canvas, loop.waveformPeaks, { color: "#8fd3ff" }));
  }
}

// ---- actions --------------------------------------------------------------------------------------

function preview(button) {
  const loopId = button.closest(".loop-item").dataset.key;
  const audio = $("#preview-audio");
  if (previewing === loopId) {
    audio.pause();
    previewing = null;
  } else {
    previewing = loopId;
    audio.src = `/api/loops/${encodeURIComponent(loopId)}/audio`;
    audio.loop = true;
    audio.play().catch((error) => { previewing = null; draw(); toast(`cannot preview: ${error.message}`); });
  }
  draw();
}

export async function toPad(loop) {
  if (!loop) return;
  const padIndex = await pickPad(`Put ${loop.loopName} on a pad`);
  if (padIndex === null) return;
  const pad = await act(() => api("PUT", `/api/pads/${padIndex}`, { loopId: loop.loopId, padName: loop.loopName }));
  if (pad) toast(`${loop.loopName} is on pad ${padLabel(padIndex)}`, "info");
}

async function remove(loop) {
  if (!loop || !await ask(`Delete ${loop.loopName} from the library?`, { ok: "Delete", danger: true })) return;
  try {
    await api("DELETE", `/api/loops/${encodeURIComponent(loop.loopId)}`);
  } catch (error) {
    if (error.status !== 409) { toast(error.message); return; }
    if (!await ask(`${error.message}. Delete it anyway? Its pads and clips are emptied.`,
      { ok: "Delete anyway", danger: true })) return;
    if (await act(() => api("DELETE", `/api/loops/${encodeURIComponent(loop.loopId)}?force=true`)) === undefined) return;
  }
  forgetLoop(loop.loopId);
  forgetPeaks(loop.loopId);
  toast(`Deleted ${loop.loopName}`, "info");
  emit("library");
}

async function upload(input) {
  const file = input.files?.[0];
  input.value = "";
  if (!file) return;
  const bar = $("#upload-progress");
  const label = bar.querySelector(".progress-label");
  bar.hidden = false;
  label.textContent = `Uploading ${file.name}`;
  const progress = bar.querySelector("progress");
  progress.value = 0;
  try {
    const loop = await uploadLoop(file, {}, (fraction) => {
      progress.value = fraction;
      if (fraction >= 1) label.textContent = `Analysing ${file.name}…`;
    });
    toast(`${loop.loopName} is in the library`, "info");
    emit("library");
  } catch (error) {
    toast(error.message);
  } finally {
    bar.hidden = true;
  }
}

function drawCategories() {
  const chips = [["", "All"], ...CATEGORIES.map((name) => [name, name])];
  $("#library-categories").replaceChildren(...chips.map(([value, text]) => h("button", {
    type: "button", class: "chip", "aria-pressed": String(value === category), "data-category": value || "all",
    onclick: () => { category = value; shown = PAGE_SIZE; drawCategories(); refresh(); },
  }, text)));
}

export function initLibrary() {
  drawCategories();
  $("#library-search").addEventListener("input", debounce(() => { shown = PAGE_SIZE; refresh(); }, 250));
  $("#library-upload").addEventListener("change", (event) => upload(event.currentTarget));
  $("#library-more").addEventListener("click", () => { shown += PAGE_SIZE; refresh(); });
  $("#preview-audio").addEventListener("ended", () => { previewing = null; draw(); });
  on("library", debounce(() => { if (loaded) refresh(); }, 200));
  on("show-library", () => { if (!loaded) refresh(); });
}

export { refresh as refreshLibrary };
