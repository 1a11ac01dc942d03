// AI generation: new loops from a prompt and parameters (Lyria with a key, else the offline generator),
// variations of an existing loop (the five variation types), progress from the WebSocket's JOB_PROGRESS,
// results with waveform, preview, "to pad" and "to song" (every option is already a library loop), and the
// live pad's steering sliders when /api/live says it is available.

import { api, query } from "./api.js";
import { emit, on, state } from "./store.js";
import { loopRecord, padLabel, padTitle } from "./loops.js";
import { toPad } from "./library.js";
import { openClipSheet } from "./clipsheet.js";
import { showLoopWave } from "./wave.js";
import { $, act, debounce, formatBpm, h, holdWhileDragging, keyed, setValue, throttle, toast } from "./ui.js";

const SHOWN_JOBS = 6;
const NOTES = ["C", "D\u266d", "D", "E\u266d", "E", "F", "G\u266d", "G", "A\u266d", "A", "B\u266d", "B"];
const SCALES = ["C_MAJOR_A_MINOR", "D_FLAT_MAJOR_B_FLAT_MINOR", "D_MAJOR_B_MINOR", "E_FLAT_MAJOR_C_MINOR",
  "E_MAJOR_D_FLAT_MINOR", "F_MAJOR_D_MINOR", "G_FLAT_MAJOR_E_FLAT_MINOR", "G_MAJOR_E_MINOR", "A_FLAT_MAJOR_F_MINOR",
  "A_MAJOR_G_FLAT_MINOR", "B_FLAT_MAJOR_G_MINOR", "B_MAJOR_A_FLAT_MINOR"];
const GENRES = ["Acid Jazz", "Afrobeat", "Bossa Nova", "Breakbeat", "Chillout", "Chiptune", "Deep House", "Disco Funk",
  "Drum & Bass", "Dubstep", "EDM", "Funk", "Hip-Hop", "Jazz Fusion", "Lo-Fi Hip Hop", "Minimal Techno", "Neo-Soul",
  "Reggae", "Synthpop", "Techno", "Trance", "Trap Beat", "Trip Hop", "Ambient", "Rock", "Classical"];
const INSTRUMENTS = ["Drums", "Bass", "Synth", "Guitar", "Piano", "Rhodes Piano", "Synth Pads", "TR-909 Drum Machine",
  "808 Hip Hop Beat", "303 Acid Bass", "Strings", "Vibraphone", "Marimba", "Trumpet", "Vocals"];
const MOODS = ["Chill", "Danceable", "Dark", "Dreamy", "Emotional", "Energetic", "Funky", "Happy", "Lo-fi", "Sad",
  "Tight Groove", "Upbeat", "Uplifting", "Calm"];

const mine = new Set();   // jobs asked for from this page (shown first)
let previewing = null;

function scaleLabel(scale) {
  const index = SCALES.indexOf(scale);
  return `${NOTES[index]} major / ${NOTES[(index + 9) % 12]} minor`;
}

function fillChoices() {
  $("#gen-scale").replaceChildren(h("option", { value: "SCALE_UNSPECIFIED" }, "Any key"),
    ...SCALES.map((scale) => h("option", { value: scale }, scaleLabel(scale))));
  for (const [id, words] of [["#genres", GENRES], ["#instruments", INSTRUMENTS], ["#moods", MOODS]]) {
    $(id).replaceChildren(...words.map((word) => h("option", { value: word })));
  }
}

function matchBpm() {
  const match = $("#gen-match-bpm").checked;
  const bpm = $("#gen-bpm");
  bpm.disabled = match;
  if (match && state.transport) bpm.value = Math.round(Math.min(200, Math.max(60, state.transport.tempoBpm)));
}

function numberOrNull(id) {
  const text = $(id).value.trim();
  return text === "" ? null : Number(text);
}

function generationRequest() {
  const request = {
    prompt: $("#gen-prompt").value.trim(), genre: $("#gen-genre").value.trim(),
    instrument: $("#gen-instrument").value.trim(), mood: $("#gen-mood").value.trim(),
    bpm: numberOrNull("#gen-bpm"), scale: $("#gen-scale").value, bars: Number($("#gen-bars").value),
    options: Number($("#gen-options").value), guidance: Number($("#gen-guidance").value),
    temperature: Number($("#gen-temperature").value), top_k: Number($("#gen-top-k").value),
    seed: numberOrNull("#gen-seed"), mute_bass: $("#gen-mute-bass").checked,
    mute_drums: $("#gen-mute-drums").checked, only_bass_and_drums: $("#gen-only-bass-drums").checked,
  };
  if (!$("#gen-density-auto").checked) request.density = Number($("#gen-density").value);
  if (!$("#gen-brightness-auto").checked) request.brightness = Number($("#gen-brightness").value);
  return request;
}

async function submitJob(work) {
  const job = await act(work);
  if (!job) return;
  mine.add(job.jobId);
  state.jobs.set(job.jobId, job);
  drawJobs();
  $("#gen-jobs .job")?.scrollIntoView({ block: "nearest", behavior: "smooth" });
}

// ---- jobs and results -----------------------------------------------------------------------------

function generationJobs() {
  const jobs = [...state.jobs.values()].filter((job) => job.kind === "generate").reverse();
  jobs.sort((a, b) => Number(mine.has(b.jobId)) - Number(mine.has(a.jobId)));
  return jobs.slice(0, SHOWN_JOBS);
}

function buildJob() {
  return h("article", { class: "card job" },
    h("div", { class: "job-head" }, h("h3", { class: "job-title" }),
      h("button", { type: "button", class: "job-cancel danger" }, "Cancel")),
    h("div", { class: "progress-line" }, h("span", { class: "progress-label" }), h("progress", { max: 100, value: 0 })),
    h("p", { class: "job-error form-error", role: "alert" }),
    h("ul", { class: "results" }));
}

function drawJob(node, job) {
  $(".job-title", node).textContent = job.prompt || "generation";
  const running = job.state === "queued" || job.state === "running";
  const cancel = $(".job-cancel", node);
  cancel.hidden = !running;
  cancel.onclick = () => act(() => api("DELETE", `/api/jobs/${job.jobId}`));
  const line = $(".progress-line", node);
  line.hidden = !running;
  $("progress", line).value = job.percent ?? 0;
  $(".progress-label", line).textContent = `${job.stage || job.state} · ${Math.round(job.percent ?? 0)} %`;
  $(".job-error", node).textContent = job.state === "failed" ? job.error : "";
  keyed($(".results", node), job.results ?? [], (result) => result.loopId, buildResult, drawResult);
}

function buildResult() {
  const asLoop = (event) => {
    const item = event.currentTarget.closest(".result");
    return { loopId: item.dataset.key, loopName: item.dataset.name };
  };
  return h("li", { class: "result loop-item" },
    h("canvas", { class: "loop-wave", "aria-hidden": "true" }),
    h("div", { class: "loop-text" }, h("span", { class: "loop-name" }), h("span", { class: "loop-meta muted" })),
    h("div", { class: "loop-actions" },
      h("button", { type: "button", class: "icon result-preview", onclick: (event) => preview(asLoop(event).loopId) }, "\u25B6"),
      h("button", { type: "button", class: "result-to-pad", onclick: (event) => toPad(asLoop(event)) }, "To pad"),
      h("button", { type: "button", class: "result-to-song", onclick: (event) => openClipSheet(asLoop(event)) }, "To song")));
}

function drawResult(node, result) {
  node.dataset.name = result.name;
  $(".loop-name", node).textContent = result.name;
  $(".loop-meta", node).textContent = [formatBpm(result.bpm), result.bars ? `${result.bars} bar${result.bars === 1 ? "" : "s"}` : "",
    "in the library"].filter(Boolean).join(" · ");
  const playing = previewing === result.loopId;
  const button = $(".result-preview", node);
  button.textContent = playing ? "\u25A0" : "\u25B6";
  button.setAttribute("aria-label", `${playing ? "Stop preview of" : "Preview"} ${result.name}`);
  $(".result-to-pad", node).setAttribute("aria-label", `Put ${result.name} on a pad`);
  $(".result-to-song", node).setAttribute("aria-label", `Add ${result.name} to the song`);
  const canvas = $(".loop-wave", node);
  if (canvas.dataset.loopId !== result.loopId) showLoopWave(canvas, result.loopId, 96, { color: "#b9a3ff" });
}

function drawJobs() {
  keyed($("#gen-jobs"), generationJobs(), (job) => job.jobId, buildJob, drawJob);
}

function preview(loopId) {
  const audio = $("#preview-audio");
  if (previewing === loopId) {
    audio.pause();
    previewing = null;
  } else {
    previewing = loopId;
    audio.src = `/api/loops/${encodeURIComponent(loopId)}/audio`;
    audio.loop = true;
    audio.play().catch((error) => { previewing = null; toast(`cannot preview: ${error.message}`); drawJobs(); });
  }
  drawJobs();
}

// ---- variations -----------------------------------------------------------------------------------

// The loops to vary: generated ones and those on pads. The choice is read again after every wait, so a
// refill never undoes what the performer picked meanwhile.
async function fillVaryChoices(wanted) {
  const select = $("#vary-loop");
  const page = await api("GET", query("/api/loops", { source: "generated", limit: 100 })).catch(() => ({ loops: [] }));
  const current = wanted ?? select.value;
  const options = page.loops.map((loop) => h("option", { value: loop.loopId }, loop.loopName));
  const padLoops = state.pads.filter((pad) => pad.loopId && !page.loops.some((loop) => loop.loopId === pad.loopId));
  for (const pad of padLoops) options.push(h("option", { value: pad.loopId }, `Pad ${padLabel(pad.padIndex)}: ${padTitle(pad)}`));
  if (current && !options.some((option) => option.value === current)) {
    const record = await loopRecord(current).catch(() => null);
    options.unshift(h("option", { value: current }, record?.loopName ?? current));
  }
  if (!options.length) options.push(h("option", { value: "" }, "No generated loops yet"));
  const chosen = wanted ?? select.value;
  select.replaceChildren(...options);
  if (chosen && options.some((option) => option.value === chosen)) select.value = chosen;
}

async function varyLoop(loopId) {
  emit("show-tab", "generate");
  await fillVaryChoices(loopId);
  $("#vary-form").scrollIntoView({ block: "start" });
  $("#vary-loop").focus();
}

// ---- the live pad ---------------------------------------------------------------------------------

async function refreshLive() {
  const live = await api("GET", "/api/live").catch(() => null);
  if (live) state.live = live;
  drawLive();
}

function drawLive() {
  const live = state.live ?? { available: false };
  $("#live-pad").hidden = !live.available;
  const note = $("#live-unavailable");
  note.hidden = live.available;
  note.textContent = live.available ? "" : `Live pad: ${live.error || "not available on this groovebox"}.`;
  if (!live.available) return;
  const words = [`state: ${live.state}`];
  if (live.pad !== null && live.pad !== undefined) words.push(`pad ${padLabel(live.pad)}`);
  if (live.buffered_s !== undefined) words.push(`${live.buffered_s.toFixed(1)} s buffered`);
  if (live.error) words.push(live.error);
  $("#live-status").textContent = words.join(" · ");
  for (const [id, value] of [["#live-density", live.density], ["#live-brightness", live.brightness]]) {
    if (typeof value === "number") { setValue($(id), value); $(`${id}-out`).textContent = value.toFixed(2); }
  }
  const padOptions = () => state.pads.slice(0, 64).map((pad) => h("option", { value: pad.padIndex },
    `Pad ${padLabel(pad.padIndex)}: ${padTitle(pad)}`));
  for (const id of ["#live-pad-index", "#live-capture-pad"]) {
    const select = $(id);
    if (select.options.length !== state.pads.length) {
      const keep = select.value;
      select.replaceChildren(...padOptions());
      if (keep) select.value = keep;
    }
  }
}

function initLive() {
  $("#live-start").addEventListener("click", () => act(async () => {
    const prompt = $("#live-prompt").value.trim() || $("#gen-prompt").value.trim();
    if (!prompt) throw new Error("type a prompt for the live pad first");
    state.live = await api("POST", "/api/live/start", { request: { prompt }, pad: Number($("#live-pad-index").value),
      play: true });
    drawLive();
  }));
  $("#live-stop").addEventListener("click", () => act(async () => { state.live = await api("POST", "/api/live/stop"); drawLive(); }));
  const steer = throttle((delta) => act(() => api("POST", "/api/live/steer", { configDelta: delta })), 150);
  for (const [id, field] of [["#live-density", "density"], ["#live-brightness", "brightness"]]) {
    const input = $(id);
    holdWhileDragging(input);
    input.addEventListener("input", () => {
      $(`${id}-out`).textContent = Number(input.value).toFixed(2);
      steer({ [field]: Number(input.value) });
    });
  }
  $("#live-capture").addEventListener("click", () => act(async () => {
    await api("POST", "/api/live/capture", { bars: Number($("#live-capture-bars").value),
      intoPad: Number($("#live-capture-pad").value) });
    toast("Captured at the next bar line", "info");
  }));
  on("live-news", debounce(refreshLive, 300));
}

// ---- wiring ---------------------------------------------------------------------------------------

function initForm() {
  $("#gen-match-bpm").addEventListener("change", matchBpm);
  for (const id of ["#gen-guidance", "#gen-temperature", "#gen-density", "#gen-brightness"]) {
    const input = $(id);
    const digits = id === "#gen-guidance" ? 1 : 2;
    input.addEventListener("input", () => { $(`${id}-out`).textContent = Number(input.value).toFixed(digits); });
  }
  for (const name of ["density", "brightness"]) {
    $(`#gen-${name}-auto`).addEventListener("change", (event) => { $(`#gen-${name}`).disabled = event.target.checked; });
  }
  $("#generate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitJob(() => api("POST", "/api/generate", generationRequest()));
  });
  $("#vary-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const loopId = $("#vary-loop").value;
    if (!loopId) { toast("choose a generated loop to vary"); return; }
    submitJob(() => api("POST", `/api/loops/variation/${encodeURIComponent(loopId)}`, {
      variationType: $("input[name=vary-type]:checked").value, variationPrompt: $("#vary-prompt").value.trim(),
      options: Number($("#vary-options").value),
    }));
  });
}

export function initGenerate() {
  fillChoices();
  initForm();
  initLive();
  on("jobs", drawJobs);
  on("transport", () => { if ($("#gen-match-bpm").checked && !$("#gen-bpm").value) matchBpm(); });
  on("project", matchBpm);
  on("vary", varyLoop);
  on("show-generate", () => { matchBpm(); fillVaryChoices(); refreshLive(); });
  const refillVary = debounce(() => { if (!$("#view-generate").hidden) fillVaryChoices(); }, 300);
  on("library", refillVary);
  on("project", refillVary);
}
