// The "add a clip" sheet: a loop from a pad (with the pad's loop region) or from the library, a track (or a
// new one), the start bar and the length in bars (suggested from the loop's own bars).

import { emit, state } from "./store.js";
import { loopBars, loopRecord, padLabel, padTitle, pickLoop, rememberLoop } from "./loops.js";
import { newTrack, saveSong, trackEnd } from "./arrange.js";
import { $, h, randomId, showDialog, toast } from "./ui.js";

let preset = null;   // a library loop chosen for the sheet

const tracks = () => state.project?.tracks ?? [];

function fillSources(preferred) {
  const source = $("#clip-source");
  const options = [];
  if (preset) options.push(h("option", { value: `loop:${preset.loopId}` }, `Library: ${preset.loopName}`));
  for (const pad of state.pads) {
    if (pad.loopId || pad.audioPath) {
      options.push(h("option", { value: `pad:${pad.padIndex}` }, `Pad ${padLabel(pad.padIndex)}: ${padTitle(pad)}`));
    }
  }
  if (!options.length) options.push(h("option", { value: "" }, "Choose from the library first"));
  source.replaceChildren(...options);
  if (preferred) source.value = preferred;
  suggestLength();
}

function fillTracks(trackId) {
  const select = $("#clip-track");
  select.replaceChildren(...tracks().map((track) => h("option", { value: track.trackId }, track.trackName || "Track")),
    h("option", { value: "new" }, "New track"));
  select.value = tracks().some((track) => track.trackId === trackId) ? trackId : (tracks()[0]?.trackId ?? "new");
  suggestStart();
}

function suggestStart() {
  $("#clip-start").value = trackEnd(tracks().find((track) => track.trackId === $("#clip-track").value)) + 1;
}

function sourceOf(value) {
  if (value.startsWith("loop:")) return { loopId: value.slice(5) };
  if (value.startsWith("pad:")) {
    const pad = state.pads[Number(value.slice(4))];
    return pad ? { loopId: pad.loopId ?? null, audioPath: pad.audioPath ?? null,
      startOffsetInLoopSeconds: pad.loopStartOffsetSeconds ?? 0,
      endOffsetInLoopSeconds: pad.loopEndOffsetSeconds ?? null } : null;
  }
  return null;
}

async function suggestLength() {
  const source = sourceOf($("#clip-source").value);
  if (!source?.loopId) return;
  const record = await loopRecord(source.loopId).catch(() => null);
  if (!record) return;
  const beatsPerBar = state.project?.beatsPerBar ?? 4;
  $("#clip-length").value = Math.max(1, Math.round(loopBars(record, state.project?.bpm ?? 120, beatsPerBar)));
}

// Open the sheet; `loop` preselects a library loop, `trackId` the track.
export function openClipSheet(loop = null, trackId = null) {
  preset = loop;
  if (loop) rememberLoop(loop);
  fillSources(loop ? `loop:${loop.loopId}` : null);
  fillTracks(trackId);
  $("#clip-dialog").returnValue = "";
  showDialog($("#clip-dialog"));
}

async function addClip() {
  const source = sourceOf($("#clip-source").value);
  if (!source || (!source.loopId && !source.audioPath)) {
    toast("choose a loop for the clip");
    return;
  }
  const trackChoice = $("#clip-track").value;
  const clip = { clipId: randomId(), loopId: source.loopId, audioPath: source.loopId ? null : source.audioPath,
    startBar: Math.max(0, Math.round(Number($("#clip-start").value)) - 1),
    durationBars: Math.max(1, Math.round(Number($("#clip-length").value))),
    startOffsetInLoopSeconds: source.startOffsetInLoopSeconds ?? 0,
    endOffsetInLoopSeconds: source.endOffsetInLoopSeconds ?? null, volumeOverride: null, panOverride: null };
  let trackId = null;
  const added = await saveSong((project) => {
    const track = project.tracks.find((item) => item.trackId === trackChoice) ?? newTrack(project);
    track.clips.push(clip);
    trackId = track.trackId;
  });
  if (added) emit("clip-added", { trackId, clipId: clip.clipId });
}

export function initClipSheet() {
  $("#clip-source").addEventListener("change", suggestLength);
  $("#clip-track").addEventListener("change", suggestStart);
  $("#clip-from-library").addEventListener("click", async () => {
    const loop = await pickLoop("Choose a loop for the clip");
    if (loop) { preset = loop; fillSources(`loop:${loop.loopId}`); }
  });
  $("#clip-dialog").addEventListener("close", () => { if ($("#clip-dialog").returnValue === "add") addClip(); });
}
