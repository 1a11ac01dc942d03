// Recording the audio input into an empty pad: the "Record into pad" part of the pad settings sheet.
//
// POST /api/pads/{n}/record {bars} arms the recording (bars 0: until stopped); the daemon counts in (the pad
// shows "queued"), records (the pad turns red: state "recording") and, when the take is over, stores it in the
// library and puts it on the pad (a PROJECT_UPDATED). A tap on the recording pad is an ordinary PAD_TRIGGER,
// which ends the take on the nearest bar line. A refusal (no audio input, pad not empty, already recording)
// is a 409 whose sentence is shown in the sheet.
//
// `state.record` mirrors GET /api/record. It is asked for when the page connects, when the sheet opens on an
// empty pad, and when an engine pad-state change concerns the recording (not on every project edit).

import { api } from "./api.js";
import { emit, on, state } from "./store.js";
import { padLabel } from "./loops.js";
import { $, act, toast } from "./ui.js";

const STATE_WORDS = { "count-in": "counts in", recording: "is recording", finishing: "is finishing the take" };

let shownPad = null;      // the pad whose sheet shows the record part

export async function refreshRecord() {
  try {
    state.record = await api("GET", "/api/record");
  } catch (error) {
    if (error.status === 401) return;
    state.record = { unavailable: error.message };
  }
  emit("record");
}

// The pad index being recorded into (armed, counting in or recording), or null.
export function recordingPad() {
  const record = state.record;
  return record && !record.unavailable && record.state !== "idle" ? record.pad : null;
}

function inputSentence(record) {
  if (!record) return "Asking the groovebox about its audio input…";
  if (record.unavailable) return record.unavailable;
  return record.input ? "Audio input: ready." : "This groovebox has no audio input right now, so it will refuse.";
}

// Show the record part of the sheet for `pad` (hidden when the pad holds a loop).
export function drawRecordPart(pad, hasLoop) {
  shownPad = pad.padIndex;
  const recording = recordingPad();
  const here = recording === pad.padIndex;
  $("#pad-record").hidden = hasLoop && !here;
  $("#record-input").textContent = inputSentence(state.record);
  $("#record-status").textContent = here
    ? `Pad ${padLabel(pad.padIndex)} ${STATE_WORDS[state.record.state] ?? state.record.state}. Tap the pad or ` +
      "End the take to stop on the nearest bar line."
    : recording !== null ? `Pad ${padLabel(recording)} is recording; one recording at a time.` : "";
  $("#record-bars").closest("label").hidden = here;
  $("#record-start").hidden = here;
  $("#record-stop").hidden = !here;
  $("#record-cancel").hidden = !here;
}

function lengthWords(bars) {
  return bars ? `${bars} bar${bars > 1 ? "s" : ""}` : "until you tap it";
}

async function start() {
  const padIndex = shownPad;
  const bars = Number($("#record-bars").value);
  const answer = await act(() => api("POST", `/api/pads/${padIndex}/record`, { bars }));
  if (!answer) return;
  state.record = answer;
  emit("record");
  $("#pad-dialog").close();
  toast(`Pad ${padLabel(padIndex)} counts in, then records ${lengthWords(bars)}. Tap the red pad to end the take.`,
    "info");
}

async function stop(cancel) {
  const answer = await act(() => api("POST", "/api/record/stop", { cancel }));
  if (!answer) return;
  state.record = answer;
  emit("record");
  if (cancel) $("#pad-dialog").close();
}

// Engine pad-state changes (PADS, with indices) that start or end a recording ask the daemon again.
function padsChanged(indices) {
  if (!indices) return;
  const record = state.record;
  const concerned = indices.some((index) => index === record?.pad || state.pads[index]?.state === "recording");
  if (concerned) refreshRecord();
}

export function initPadRecord() {
  $("#record-start").addEventListener("click", start);
  $("#record-stop").addEventListener("click", () => stop(false));
  $("#record-cancel").addEventListener("click", () => stop(true));
  on("pads", padsChanged);
  on("connection", () => { if (state.connection === "online") refreshRecord(); });
}
