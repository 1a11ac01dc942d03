// Recording the performance: the live mix to FLAC (the top bar's record button, with the elapsed time), the
// finished mix recordings with download links (folded away at the top of the library screen, unfolded when
// a recording has just finished), and pad launches into the song (the
// song transport's "Rec song"; the new tracks arrive as a PROJECT_UPDATED).
//
// Neither recording is reported over the WebSocket, so the page asks GET /api/mix-recording and
// GET /api/song/record when it connects and once a second while a recording runs (started here or on
// another phone or the front panel before this page connected).

import { api } from "./api.js";
import { emit, on, state } from "./store.js";
import { $, act, ask, h, keyed, toast } from "./ui.js";

const POLL_MS = 1000;

let mix = null;           // GET /api/mix-recording
let take = null;          // GET /api/song/record
let pollTimer = null;
let listed = false;
let announced = null;     // the mix recording whose end was already told

function clock(seconds) {
  const whole = Math.floor(seconds ?? 0);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function megabytes(bytes) {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} KB`;
}

// ---- asking the daemon ------------------------------------------------------------------------------

async function fetchState(path) {
  try {
    return await api("GET", path);
  } catch {
    return null;                 // 409 before the audio runs, or offline: the buttons' own requests will say
  }
}

async function poll() {
  clearTimeout(pollTimer);
  pollTimer = null;
  const wasMixing = Boolean(mix?.recording);
  [mix, take] = await Promise.all([fetchState("/api/mix-recording"), fetchState("/api/song/record")]);
  if (wasMixing && mix && !mix.recording) mixStopped(mix);
  drawMix();
  drawTake();
  if ((mix?.recording || take?.recording) && state.connection === "online") pollTimer = setTimeout(poll, POLL_MS);
}

// ---- the mix ----------------------------------------------------------------------------------------

function drawMix() {
  const recording = Boolean(mix?.recording);
  const button = $("#mix-rec");
  button.setAttribute("aria-pressed", String(recording));
  button.setAttribute("aria-label", recording ? "Stop recording the mix" : "Record the mix");
  button.title = recording ? `Recording the mix to ${mix.file}: tap to stop` : "Record the mix to a FLAC file";
  const time = $("#mix-rec-time");
  time.hidden = !recording;
  if (recording) time.textContent = clock(mix.seconds);
}

function mixStopped(info) {
  if (announced === info.file) return;      // a poll and the stop button may both see the end
  announced = info.file;
  if (info.error) toast(`The mix recording stopped: ${info.error}`);
  else toast(`Recorded ${clock(info.seconds)} of the mix: download ${info.file} from the library`, "info");
  $("#recordings").open = true;
  emit("recordings");
}

async function toggleMix() {
  const action = mix?.recording ? "stop" : "start";
  const answer = await act(() => api("POST", `/api/mix-recording/${action}`));
  if (!answer) return;
  mix = answer;
  if (action === "stop") mixStopped(answer);
  drawMix();
  if (answer.recording && !pollTimer) pollTimer = setTimeout(poll, POLL_MS);
}

// ---- the recordings list (library screen) -----------------------------------------------------------

async function refreshList() {
  const files = await act(() => api("GET", "/api/recordings"));
  if (!files) return;
  listed = true;
  const list = $("#recordings-list");
  $("#recordings-count").textContent = `(${files.length})`;
  keyed(list, files, (item) => item.file, buildItem, drawItem);
  if (!files.length) {
    list.replaceChildren(h("li", { class: "muted" }, "No mix recordings yet: the record button in the top bar " +
      "records what the audience hears."));
  }
}

function buildItem() {
  const remove = h("button", { type: "button", class: "recording-delete danger" }, "Delete");
  const node = h("li", { class: "loop-item recording-item" },
    h("div", { class: "loop-text" }, h("span", { class: "loop-name" }), h("span", { class: "loop-meta muted" })),
    h("div", { class: "loop-actions" }, h("a", { class: "button recording-download" }, "Download"), remove));
  remove.addEventListener("click", () => deleteRecording(node.item));
  return node;
}

async function deleteRecording(item) {
  if (!await ask(`Delete the mix recording ${item.file}? It cannot be undone.`, { ok: "Delete", danger: true })) return;
  if (await act(() => api("DELETE", `/api/recordings/${encodeURIComponent(item.file)}`)) !== undefined) refreshList();
}

function drawItem(node, item) {
  node.item = item;
  node.querySelector(".loop-name").textContent = item.file;
  node.querySelector(".recording-delete").setAttribute("aria-label", `Delete ${item.file}`);
  node.querySelector(".loop-meta").textContent = `${clock(item.seconds)} · FLAC · ${megabytes(item.bytes)}`;
  const link = node.querySelector(".recording-download");
  link.href = `/api/recordings/${encodeURIComponent(item.file)}`;
  link.download = item.file;
  link.setAttribute("aria-label", `Download ${item.file}`);
}

// ---- the song take ----------------------------------------------------------------------------------

function drawTake() {
  const recording = Boolean(take?.recording);
  const button = $("#song-record");
  button.setAttribute("aria-pressed", String(recording));
  button.setAttribute("aria-label", recording ? "Stop recording into the song" : "Record pad launches into the song");
  const status = $("#song-record-status");
  status.hidden = !recording;
  if (recording) status.textContent = `${take.bars.toFixed(1)} bars · ${take.clips} clip${take.clips === 1 ? "" : "s"}`;
}

function tookSentence(answer) {
  if (!answer.tracksAdded) return "Nothing played while recording: the song is unchanged";
  const tracks = `${answer.tracksAdded} track${answer.tracksAdded === 1 ? "" : "s"}`;
  return `Added ${tracks} (${answer.clipsAdded} clip${answer.clipsAdded === 1 ? "" : "s"}) to the song (Undo removes them)`;
}

async function toggleTake() {
  const action = take?.recording ? "stop" : "start";
  const answer = await act(() => api("POST", `/api/song/record/${action}`));
  if (!answer) return;
  take = answer;
  drawTake();
  if (action === "stop") {
    toast(tookSentence(answer), "info");
    for (const note of answer.notes ?? []) toast(note, "info");
  } else if (!pollTimer) {
    pollTimer = setTimeout(poll, POLL_MS);
  }
}

export function initRecordings() {
  $("#mix-rec").addEventListener("click", toggleMix);
  $("#song-record").addEventListener("click", toggleTake);
  on("connection", () => { if (state.connection === "online") poll(); });
  on("show-library", refreshList);
  on("recordings", () => { if (listed) refreshList(); });
}
