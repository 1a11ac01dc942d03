// The one WebSocket to the daemon: live state in, pad triggers and transport out.
//
// It reconnects by itself: after a close (daemon restart, Wi-Fi drop, "too far behind" 1013) it waits
// 0.5 s, 1 s, 2 s ... up to 10 s (with jitter), first asks /api/tokens whether this device is still paired
// (a browser cannot see why a WebSocket handshake failed), then reconnects and gets a fresh SNAPSHOT. A
// connection that stays silent for WATCHDOG_MS (the daemon sends the transport 25 times a second) is
// treated as dead, since a dropped Wi-Fi link may never deliver a close. Coming back online or to the
// foreground retries at once.

import { api } from "./api.js";
import { applyJob, applyPadStates, applyProject, applySnapshot, applyTransport, emit, state } from "./store.js";
import { toast } from "./ui.js";

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10_000;
const WATCHDOG_MS = 6_000;

let socket = null;
let delayMs = FIRST_DELAY_MS;
let retryTimer = null;
let lastMessageAt = 0;
let running = false;

const handlers = {
  SNAPSHOT: applySnapshot,
  TRANSPORT: applyTransport,
  PADS: (payload) => applyPadStates(payload.pads),
  PROJECT_UPDATED: applyProject,
  JOB_PROGRESS: applyJob,
  AI_LOOP_GENERATED: () => emit("library"),
  PROCESS_COMPLETE: (payload) => {
    if (payload.job) applyJob({ ...payload.job, jobId: payload.jobId });
    if (payload.job?.kind !== "export") emit("library");
  },
  LIVE_PAD: (payload) => emit("live-news", payload),
  ERROR: (payload) => toast(payload.message || "the groovebox refused a request"),
};

function setConnection(value, detail) {
  state.connection = value;
  emit("connection", detail);
}

function dispatch(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return;
  }
  const handler = handlers[message.type];
  if (handler) handler(message.payload ?? {});
}

function open() {
  clearTimeout(retryTimer);
  setConnection("connecting");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const opened = new WebSocket(`${scheme}://${location.host}/ws`);
  socket = opened;
  opened.addEventListener("open", () => {
    delayMs = FIRST_DELAY_MS;
    lastMessageAt = performance.now();
    setConnection("online");
  });
  opened.addEventListener("message", (event) => {
    lastMessageAt = performance.now();
    dispatch(event.data);
  });
  opened.addEventListener("close", () => {
    if (socket === opened) lost();
  });
}

function lost() {
  socket = null;
  if (!running) return;
  const waitMs = delayMs * (0.8 + Math.random() * 0.4);
  delayMs = Math.min(MAX_DELAY_MS, delayMs * 2);
  setConnection("offline", { retryInMs: waitMs });
  clearTimeout(retryTimer);
  retryTimer = setTimeout(reconnect, waitMs);
}

async function reconnect() {
  if (!running || socket) return;
  try {
    await api("GET", "/api/tokens");
  } catch (error) {
    if (error.status !== 401) lost();   // 401: the "unpaired" event shows the pairing screen
    return;
  }
  if (running && !socket) open();
}

function abandon() {
  const dead = socket;
  socket = null;
  if (dead) {
    try { dead.close(); } catch { /* already closing */ }
  }
}

function watchdog() {
  if (socket && socket.readyState === WebSocket.OPEN && performance.now() - lastMessageAt > WATCHDOG_MS) {
    abandon();
    lost();
  }
}

function retryNow() {
  if (running && !socket) {
    delayMs = FIRST_DELAY_MS;
    clearTimeout(retryTimer);
    reconnect();
  }
}

export function start() {
  if (running) return;
  running = true;
  open();
}

export function stop() {
  running = false;
  clearTimeout(retryTimer);
  abandon();
}

// Send a message; false when there is no open connection (the caller may use the REST route instead).
export function send(type, payload) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify({ type, payload }));
  return true;
}

setInterval(watchdog, 1000);
window.addEventListener("online", retryNow);
document.addEventListener("visibilitychange", () => { if (!document.hidden) retryNow(); });
