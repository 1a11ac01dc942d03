// The ambient scene screen: describe a place and create a scene (POST /api/scenes plans and renders it in
// a worker, then loads it onto a pad bank and plays it: several seconds, shown with a running clock), the
// loaded scene's narrative and notes, play/stop, the fade-out timer, the layer strips (scenelayers.js) and
// the saved scenes, which load onto a bank.
//
// Every created scene is already saved as a preset (its layers are library loops), so there is no save
// button; the screen says so. The scene is not reported over the WebSocket: the page asks GET /api/scene
// when the screen is shown, after each change, when the project or a scene pad changes, and while the
// screen is visible (every second while a fade runs, so its time left counts down; else every few seconds,
// so a scene changed from the front panel or another phone shows up).

import { api } from "./api.js";
import { on, state } from "./store.js";
import { PADS_PER_BANK } from "./loops.js";
import { drawLayers, onLayerAnswer } from "./scenelayers.js";
import { $, act, ask, debounce, formatSeconds, h, keyed, toast } from "./ui.js";

const DEFAULT_BANK = 3;
const FADE_POLL_MS = 1000;
const IDLE_POLL_MS = 4000;

let asked = 0;             // GET /api/scene requests started; only the newest answer is drawn
let pollTimer = null;
let creating = false;
let presets = [];
let chosenBank = null;     // the bank the performer picked, or null for the default

const visible = () => !$("#view-scene").hidden;
const bankName = (bank) => String.fromCharCode(65 + bank);

function clock(seconds) {
  const whole = Math.max(0, Math.ceil(seconds ?? 0));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = `${String(minutes).padStart(hours ? 2 : 1, "0")}:${String(whole % 60).padStart(2, "0")}`;
  return hours ? `${hours}:${rest}` : rest;
}

// ---- the scene as the daemon has it -------------------------------------------------------------------

function setScene(scene) {
  asked += 1;                        // an answer to an action is newer than any GET still on its way
  state.scene = scene;
  draw();
  schedulePoll();
}

async function refresh() {
  const ticket = ++asked;
  let scene;
  try {
    scene = await api("GET", "/api/scene");
  } catch (error) {
    scene = { loaded: false, playing: false, unavailable: error.message };
  }
  if (ticket !== asked) return;
  state.scene = scene;
  draw();
  schedulePoll();
}

function schedulePoll() {
  clearTimeout(pollTimer);
  pollTimer = null;
  if (!visible() || state.connection !== "online") return;
  // A phone with the page in the background asks nothing (it asks again when it comes back).
  pollTimer = setTimeout(() => (document.hidden ? schedulePoll() : refresh()),
    state.scene?.fade ? FADE_POLL_MS : IDLE_POLL_MS);
}

const refreshSoon = debounce(() => { if (visible()) refresh(); }, 300);

// ---- drawing ------------------------------------------------------------------------------------------

function drawNow(scene) {
  const loaded = Boolean(scene?.loaded);
  $("#scene-now").hidden = !loaded;
  $("#scene-empty").hidden = loaded;
  $("#scene-empty").textContent = scene?.unavailable ??
    "No scene is loaded: describe a place above, or load a saved scene below.";
  if (!loaded) return;
  $("#scene-title").textContent = scene.title;
  $("#scene-state").textContent = scene.playing ? `playing on bank ${bankName(scene.bank)}`
    : `stopped (bank ${bankName(scene.bank)})`;
  $("#scene-state").dataset.playing = String(scene.playing);
  $("#scene-narrative").textContent = scene.narrative;
  $("#scene-notes").replaceChildren(...(scene.notes ?? []).map((note) => h("li", {}, note)));
  $("#scene-play").disabled = scene.playing;
  $("#scene-stop").disabled = !scene.playing;
  drawFade(scene);
}

function drawFade(scene) {
  const fade = scene.fade;
  for (const button of document.querySelectorAll("#scene-fade-buttons button")) {
    button.disabled = !scene.playing;
    button.setAttribute("aria-pressed", String(Boolean(fade) && Number(button.dataset.minutes) * 60 === fade.seconds));
  }
  $("#scene-fade-cancel").hidden = !fade;
  const left = $("#scene-fade-left");
  left.hidden = !fade;
  if (fade) left.textContent = `${clock(fade.left_s)} left`;
  $("#scene-fade-hint").textContent = scene.playing ? (fade ? `Fading out over ${Math.round(fade.seconds / 60)} min, then the scene stops.`
    : "A sleep timer: every layer fades to silence, then the scene stops.") : "Play the scene to set a fade-out timer.";
}

// The bank choice: the scenes' default bank (D) until the performer picks another.
function drawBanks() {
  const select = $("#scene-bank");
  const banks = Math.ceil(state.pads.length / PADS_PER_BANK);
  if (!banks || select.options.length === banks) return;
  const wanted = chosenBank ?? DEFAULT_BANK;
  select.replaceChildren(...Array.from({ length: banks }, (_, bank) => h("option", { value: bank },
    `Bank ${bankName(bank)}`)));
  select.value = String(Math.min(wanted, banks - 1));
}

function draw() {
  drawNow(state.scene);
  drawLayers($("#scene-layers"), state.scene);
  $("#scene-layers-part").hidden = !state.scene?.loaded;
  drawPresets();
}

// ---- creating -----------------------------------------------------------------------------------------

function sceneRequest() {
  const request = { text: $("#scene-text").value.trim(), seconds: Number($("#scene-seconds").value),
    bank: Number($("#scene-bank").value), play: true };
  const seed = $("#scene-seed").value.trim();
  if (seed !== "") request.seed = Number(seed);
  return request;
}

function showBusy(busy) {
  creating = busy;
  const button = $("#scene-create");
  button.disabled = busy;
  button.setAttribute("aria-busy", String(busy));
  button.textContent = busy ? "Creating the scene\u2026" : "Create scene";
  $("#scene-progress").hidden = !busy;
}

async function create(event) {
  event.preventDefault();
  if (creating) return;
  const request = sceneRequest();
  $("#scene-error").textContent = "";
  showBusy(true);
  const startedAt = performance.now();
  const label = $("#scene-progress .progress-label");
  const tick = () => { label.textContent = `Planning and rendering ${request.seconds} s layers\u2026 ${formatSeconds((performance.now() - startedAt) / 1000)}`; };
  tick();
  const ticker = setInterval(tick, 250);
  try {
    const scene = await api("POST", "/api/scenes", request);
    setScene(scene);
    toast(`\u201c${scene.title}\u201d is playing on bank ${bankName(scene.bank)} and saved with your scenes`, "info");
    refreshPresets();
    $("#scene-now").scrollIntoView({ block: "start", behavior: "smooth" });
  } catch (error) {
    $("#scene-error").textContent = error.message;
  } finally {
    clearInterval(ticker);
    showBusy(false);
  }
}

// ---- playing and fading -------------------------------------------------------------------------------

async function sceneAction(method, path, body) {
  const scene = await act(() => api(method, path, body));
  if (scene) setScene(scene);
  return scene;
}

function initNow() {
  $("#scene-play").addEventListener("click", () => sceneAction("POST", "/api/scene/play"));
  $("#scene-stop").addEventListener("click", () => sceneAction("POST", "/api/scene/stop"));
  $("#scene-save").addEventListener("click", async () => {
    if (await sceneAction("POST", "/api/scene/save")) toast("The scene's mix is saved", "info");
  });
  for (const button of document.querySelectorAll("#scene-fade-buttons button")) {
    button.addEventListener("click", () => sceneAction("POST", "/api/scene/fade",
      { seconds: Number(button.dataset.minutes) * 60 }));
  }
  $("#scene-fade-cancel").addEventListener("click", async () => {
    if (await sceneAction("DELETE", "/api/scene/fade")) $("#scene-fade-buttons button").focus();
  });
}

// ---- saved scenes -------------------------------------------------------------------------------------

async function refreshPresets() {
  const answer = await act(() => api("GET", "/api/scenes"));
  if (!answer) return;
  presets = answer;
  drawPresets();
}

function buildPreset() {
  const load = h("button", { type: "button", class: "scene-load" }, "Load");
  const remove = h("button", { type: "button", class: "scene-delete danger" }, "Delete");
  const node = h("li", { class: "loop-item scene-preset" },
    h("div", { class: "loop-text" }, h("span", { class: "loop-name" }), h("span", { class: "loop-meta muted" })),
    h("div", { class: "loop-actions" }, load, remove));
  load.addEventListener("click", () => loadPreset(node.preset));
  remove.addEventListener("click", () => deletePreset(node.preset));
  return node;
}

async function deletePreset(preset) {
  const question = `Delete the saved scene \u201c${preset.title}\u201d? Its layers stay in the library.`;
  if (!await ask(question, { ok: "Delete", danger: true })) return;
  if (await act(() => api("DELETE", `/api/scenes/${encodeURIComponent(preset.sceneId)}`)) !== undefined) refreshPresets();
}

function describedAt(createdAt) {
  if (!createdAt) return "";
  const when = new Date(createdAt);
  return Number.isNaN(when.getTime()) ? "" : when.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

function drawPreset(node, preset) {
  node.preset = preset;
  const current = state.scene?.loaded && state.scene.sceneId === preset.sceneId;
  node.classList.toggle("current", Boolean(current));
  if (current) node.setAttribute("aria-current", "true");
  else node.removeAttribute("aria-current");
  $(".loop-name", node).textContent = preset.title;
  const words = [preset.text !== preset.title ? `\u201c${preset.text}\u201d` : "",
    `${preset.layers} layers`, `${Math.round(preset.seconds)} s`, describedAt(preset.createdAt),
    current ? "loaded" : ""];
  $(".loop-meta", node).textContent = words.filter(Boolean).join(" \u00b7 ");
  $(".scene-delete", node).setAttribute("aria-label", `Delete the saved scene ${preset.title}`);
  $(".scene-load", node).setAttribute("aria-label",
    `Load ${preset.title} onto bank ${bankName(Number($("#scene-bank").value))} and play it`);
}

function drawPresets() {
  const list = $("#scene-presets");
  keyed(list, presets, (preset) => preset.sceneId, buildPreset, drawPreset);
  if (!presets.length) list.replaceChildren(h("li", { class: "muted" }, "No saved scenes yet."));
}

async function loadPreset(preset) {
  const bank = Number($("#scene-bank").value);
  const scene = await sceneAction("POST", `/api/scenes/${encodeURIComponent(preset.sceneId)}/load`, { bank, play: true });
  if (!scene) return;
  toast(`\u201c${scene.title}\u201d is playing on bank ${bankName(bank)} (Undo puts the bank's old pads back)`, "info");
  $("#scene-now").scrollIntoView({ block: "start", behavior: "smooth" });
}

// ---- start-up -----------------------------------------------------------------------------------------

function sceneTouched(indices) {
  const pads = new Set((state.scene?.layers ?? []).map((layer) => layer.pad));
  return !indices || indices.some((index) => pads.has(index));
}

export function initScene() {
  $("#scene-form").addEventListener("submit", create);
  initNow();
  onLayerAnswer(setScene);
  $("#scene-bank").addEventListener("change", () => { chosenBank = Number($("#scene-bank").value); drawPresets(); });
  on("show-scene", () => { refresh(); refreshPresets(); });
  on("connection", () => { if (state.connection === "online" && visible()) refresh(); else schedulePoll(); });
  on("project", () => { drawLayers($("#scene-layers"), state.scene); refreshSoon(); });
  on("pads", (indices) => {
    drawBanks();
    if (!visible()) return;
    drawLayers($("#scene-layers"), state.scene);
    if (sceneTouched(indices)) refreshSoon();
  });
  drawBanks();
}
