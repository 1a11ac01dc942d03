// The top bar: project name, new/open/save/export, tempo (+/-, typed, tap), master volume with a live peak
// meter, undo/redo, and the connection dot.

import { api } from "./api.js";
import { applyProject, on, state } from "./store.js";
import { $, act, ask, busy, h, holdWhileDragging, setValue, showDialog, throttle, toast } from "./ui.js";

const METER_FLOOR_DB = -48;
const METER_FALL_DB_PER_S = 24;
const meterLevelsDb = [METER_FLOOR_DB, METER_FLOOR_DB];
let lastMeterAt = performance.now();
let exportJobId = null;
let exportPoll = null;

function drawProject() {
  const editor = state.editor;
  if (!editor) return;
  setValue($("#project-name"), editor.projectName);
  $("#project-save").textContent = editor.dirty ? "Save*" : "Save";
  $("#project-save").setAttribute("aria-label", editor.dirty ? "Save (unsaved changes)" : "Save");
  for (const [id, can, label, word] of [["#undo", editor.canUndo, editor.undoLabel, "Undo"],
    ["#redo", editor.canRedo, editor.redoLabel, "Redo"]]) {
    const button = $(id);
    button.disabled = !can;
    button.title = can && label ? `${word} ${label}` : word;
    button.setAttribute("aria-label", button.title);
  }
  if (state.project) setValue($("#master-volume"), state.project.masterVolume);
}

function drawTempo() {
  if (state.transport) setValue($("#bpm"), Number(state.transport.tempoBpm.toFixed(1)));
}

async function setTempo(bpm) {
  if (!Number.isFinite(bpm)) return;
  await act(() => api("PATCH", "/api/transport", { bpm: Math.min(400, Math.max(20, bpm)) }));
}

// ---- projects -------------------------------------------------------------------------------------

async function openStored(projectId) {
  try {
    return await api("POST", `/api/projects/${encodeURIComponent(projectId)}/open`);
  } catch (error) {
    if (error.status !== 409) throw error;
    if (!await ask(`${error.message}. Open it anyway and lose the unsaved changes?`,
      { ok: "Discard and open", danger: true })) return null;
    return api("POST", `/api/projects/${encodeURIComponent(projectId)}/open?discard=true`);
  }
}

async function newProject() {
  const name = await ask("A new, empty project.", { ok: "Create", field: "Name", value: "New project" });
  if (!name) return;
  await act(async () => {
    const created = await api("POST", "/api/projects", { projectName: name, bpm: state.project?.bpm ?? 120 });
    const opened = await openStored(created.projectId);
    if (opened) { applyProject(opened); toast(`${name} is open`, "info"); }
  });
}

async function showProjects() {
  const dialog = $("#open-dialog");
  const list = $("#open-list");
  list.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  showDialog(dialog);
  const stored = await act(() => api("GET", "/api/projects"));
  if (!stored) { dialog.close(); return; }
  list.replaceChildren(...stored.projects.map((project) => h("button", {
    type: "button", class: "pick-item", disabled: Boolean(project.error),
    onclick: () => act(async () => {
      dialog.close();
      const opened = await openStored(project.projectId);
      if (opened) { applyProject(opened); toast(`${project.projectName} is open`, "info"); }
    }),
  }, h("span", { class: "pick-name" }, project.projectName),
  h("span", { class: "muted" }, project.error ?? `${project.bpm ?? ""} BPM · ${project.padCount ?? 0} ` +
    `pad${project.padCount === 1 ? "" : "s"} · ${new Date(project.updatedAt).toLocaleString()}`))));
  if (!stored.projects.length) list.replaceChildren(h("p", { class: "muted" }, "No stored projects yet: Save one."));
}

async function save() {
  await act(async () => {
    const saved = await api("POST", "/api/projects/current/save", {});
    applyProject(saved);
    toast(`Saved ${saved.editor.projectName}`, "info");
  });
}

// ---- export ---------------------------------------------------------------------------------------

function drawExport() {
  const job = exportJobId ? state.jobs.get(exportJobId) : null;
  const progress = $("#export-progress");
  progress.hidden = !job;
  if (!job) return;
  progress.querySelector("progress").value = job.percent ?? 0;
  progress.querySelector(".progress-label").textContent = `${job.state} ${Math.round(job.percent ?? 0)} %`;
  const result = $("#export-result");
  if (job.state === "done" && job.downloadUrl) {
    const name = `${job.projectName || "song"}.${job.format}`;
    result.replaceChildren(h("a", { class: "button primary", href: job.downloadUrl, download: name }, `Download ${name}`));
    stopExportPoll();
  } else if (job.state === "failed" || job.state === "cancelled") {
    result.textContent = job.error || `the export ${job.state}`;
    stopExportPoll();
  } else {
    result.textContent = "";
  }
}

function stopExportPoll() {
  clearInterval(exportPoll);
  exportPoll = null;
}

async function startExport() {
  const [format, bits] = $("#export-format").value.split(":");
  const job = await act(() => api("POST", "/api/projects/current/export", { format, bits: Number(bits) }));
  if (!job) return;
  exportJobId = job.jobId;
  state.jobs.set(job.jobId, job);
  drawExport();
  stopExportPoll();
  // The WebSocket reports progress; polling too covers a reconnect in the middle of an export.
  exportPoll = setInterval(() => api("GET", `/api/jobs/${job.jobId}`)
    .then((summary) => { state.jobs.set(job.jobId, summary); drawExport(); }).catch(() => {}), 1000);
}

function openExport() {
  exportJobId = null;
  $("#export-result").textContent = "";
  drawExport();
  showDialog($("#export-dialog"));
}

// ---- meter ----------------------------------------------------------------------------------------

function toDb(linear) {
  return linear > 0 ? 20 * Math.log10(linear) : METER_FLOOR_DB;
}

// Called every animation frame: peaks jump up at once and fall back at METER_FALL_DB_PER_S.
export function animateMeters() {
  const now = performance.now();
  const fallDb = ((now - lastMeterAt) / 1000) * METER_FALL_DB_PER_S;
  lastMeterAt = now;
  const peak = state.meters?.peak ?? [0, 0];
  for (let channel = 0; channel < 2; channel += 1) {
    meterLevelsDb[channel] = Math.max(toDb(peak[channel]), meterLevelsDb[channel] - fallDb, METER_FLOOR_DB);
  }
  for (const meter of document.querySelectorAll(".meter")) {
    meter.querySelectorAll(".meter-fill").forEach((fill, channel) => {
      const level = 1 - meterLevelsDb[channel] / METER_FLOOR_DB;
      fill.style.clipPath = `inset(0 ${((1 - level) * 100).toFixed(1)}% 0 0)`;
      fill.classList.toggle("hot", meterLevelsDb[channel] > -1);
    });
  }
}

function drawConnection(detail) {
  const dot = $("#conn-dot");
  dot.dataset.state = state.connection;
  const words = { online: "connected", connecting: "connecting", offline: "disconnected" };
  dot.setAttribute("aria-label", words[state.connection]);
  const banner = $("#conn-banner");
  banner.hidden = state.connection === "online";
  if (state.connection === "offline") {
    const seconds = Math.max(1, Math.round((detail?.retryInMs ?? 1000) / 1000));
    banner.textContent = `Lost the groovebox. Reconnecting in ${seconds} s…`;
  } else if (state.connection === "connecting") {
    banner.textContent = "Connecting to the groovebox…";
  }
}

export function initTopbar() {
  const name = $("#project-name");
  name.addEventListener("change", () => act(async () => {
    if (!name.value.trim()) { name.value = state.editor?.projectName ?? ""; return; }
    applyProject({ project: await api("PATCH", "/api/projects/current", { projectName: name.value.trim() }) });
  }));
  name.addEventListener("keydown", (event) => { if (event.key === "Enter") name.blur(); });
  $("#undo").addEventListener("click", () => act(async () => applyProject(await api("POST", "/api/undo"))));
  $("#redo").addEventListener("click", () => act(async () => applyProject(await api("POST", "/api/redo"))));
  const toggle = $("#project-menu-toggle");
  const menu = $("#project-actions");
  const closeMenu = () => { menu.classList.remove("open"); toggle.setAttribute("aria-expanded", "false"); };
  toggle.addEventListener("click", () => {
    const open = menu.classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  });
  menu.addEventListener("click", closeMenu);
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") closeMenu(); });
  document.addEventListener("pointerdown", (event) => {
    if (menu.classList.contains("open") && !menu.contains(event.target) && !toggle.contains(event.target)) closeMenu();
  });
  $("#project-new").addEventListener("click", newProject);
  $("#project-open").addEventListener("click", showProjects);
  $("#project-save").addEventListener("click", save);
  $("#project-export").addEventListener("click", openExport);
  $("#export-start").addEventListener("click", startExport);
  $("#export-dialog").addEventListener("close", stopExportPoll);

  const bpm = $("#bpm");
  bpm.addEventListener("change", () => setTempo(Number(bpm.value)));
  $("#bpm-down").addEventListener("click", () => setTempo(Math.round(state.transport.tempoBpm) - 1));
  $("#bpm-up").addEventListener("click", () => setTempo(Math.round(state.transport.tempoBpm) + 1));
  $("#tap").addEventListener("click", () => act(() => api("POST", "/api/transport/tap")));

  const master = $("#master-volume");
  holdWhileDragging(master);
  const sendMaster = throttle((value) => act(() => api("PATCH", "/api/mixer", { masterVolume: value })), 100);
  master.addEventListener("input", () => sendMaster(Number(master.value)));

  on("project", drawProject);
  on("transport", () => { if (!busy(bpm)) drawTempo(); });
  on("jobs", (jobId) => { if (jobId === exportJobId) drawExport(); });
  on("connection", drawConnection);
  drawConnection();
}
