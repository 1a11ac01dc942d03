// The page's copy of the daemon's state (filled by the WebSocket: a SNAPSHOT, then deltas) and a small
// publish/subscribe bus. Views never keep their own copy of daemon state; they redraw from `state` when told.
//
// Topics: "pads" (indices that changed, or null for all), "transport", "project", "jobs", "live",
// "connection", "unpaired", "library" (the library changed: an upload, a generation, a delete), "record"
// (recording into a pad: `record` changed), "effects" (the effects document changed on this page).

export const state = {
  pads: [],                 // [{padIndex, state, loopId, padName, volume, pan, launchMode, ...}]
  transport: null,          // {tempoBpm, beat, bar, beatsPerBar, quantize, metronome, song: {state, bar, loop}}
  transportAt: 0,           // performance.now() when `transport` arrived (to interpolate the beat)
  meters: { peak: [0, 0], rms: [0, 0], gainReductionDb: 0 },
  project: null,            // the live project (camelCase, as the API sends it)
  editor: null,             // {projectName, dirty, canUndo, undoLabel, canRedo, redoLabel, ...}
  jobs: new Map(),          // jobId -> job summary (generation and export)
  live: { available: false, state: "off" },
  connection: "connecting", // connecting | online | offline
  padStartBeat: new Map(),  // padIndex -> the beat its current playback started on (for the playhead)
  record: null,             // GET /api/record: {input, pad, state, bars}, or {unavailable: "<sentence>"}
  scene: null,              // GET /api/scene (not on the WebSocket: scene.js asks while its screen shows)
};

const topics = new Map();

export function on(topic, handler) {
  if (!topics.has(topic)) topics.set(topic, new Set());
  topics.get(topic).add(handler);
  return () => topics.get(topic).delete(handler);
}

export function emit(topic, detail) {
  for (const handler of topics.get(topic) ?? []) {
    try {
      handler(detail);
    } catch (error) {
      console.error(`a ${topic} handler failed`, error);
    }
  }
}

// The beat now, moved on from the last TRANSPORT message by the tempo (smooth between 25 Hz messages).
export function beatNow() {
  const transport = state.transport;
  if (!transport) return 0;
  return transport.beat + ((performance.now() - state.transportAt) / 1000) * (transport.tempoBpm / 60);
}

export function gridBeats(quantize, beatsPerBar) {
  const beats = { "1/16": 0.25, "1/8": 0.5, "1/4": 1, "1/2": 2, "1 bar": beatsPerBar,
    "2 bars": 2 * beatsPerBar, "4 bars": 4 * beatsPerBar };
  return beats[quantize] ?? 0;
}

function padGrid(pad) {
  const transport = state.transport;
  if (!transport) return 0;
  return gridBeats(pad.quantize ?? state.project?.quantizeGrid ?? transport.quantize, transport.beatsPerBar);
}

// A pad that just started playing started on the last grid point (the engine launches quantized).
function notePadStart(pad, previous) {
  if (pad.state !== "playing" || previous === "playing") return;
  const beat = beatNow();
  const grid = padGrid(pad);
  state.padStartBeat.set(pad.padIndex, grid > 0 ? Math.floor(beat / grid + 1e-6) * grid : beat);
}

function setPads(pads) {
  const previous = new Map(state.pads.map((pad) => [pad.padIndex, pad.state]));
  state.pads = pads;
  for (const pad of pads) notePadStart(pad, previous.get(pad.padIndex));
}

export function applySnapshot(snapshot) {
  applyTransport(snapshot.transport);
  state.project = snapshot.project;
  state.editor = snapshot.editor;
  setPads(snapshot.pads);
  state.jobs = new Map(snapshot.jobs.map((job) => [job.jobId, job]));
  state.live = snapshot.live ?? state.live;
  if (snapshot.mixer?.meters) state.meters = snapshot.mixer.meters;
  for (const topic of ["transport", "project", "jobs", "live"]) emit(topic);
  emit("pads", null);
}

export function applyTransport(transport) {
  const { meters, ...rest } = transport;
  state.transport = rest;
  state.transportAt = performance.now();
  if (meters) state.meters = meters;
  emit("transport");
}

export function applyPadStates(changes) {
  const byIndex = new Map(state.pads.map((pad) => [pad.padIndex, pad]));
  for (const change of changes) {
    const pad = byIndex.get(change.padIndex);
    if (!pad) continue;
    const previous = pad.state;
    pad.state = change.state;
    notePadStart(pad, previous);
  }
  emit("pads", changes.map((change) => change.padIndex));
}

export function applyProject(payload) {
  state.project = payload.project;
  if (payload.editor) state.editor = payload.editor;
  if (payload.pads) setPads(payload.pads);
  emit("project");
  if (payload.pads) emit("pads", null);
}

export function applyJob(summary) {
  const jobId = summary.jobId ?? summary.job_id;
  const previous = state.jobs.get(jobId) ?? {};
  state.jobs.set(jobId, { ...previous, ...summary, jobId });
  emit("jobs", jobId);
}
