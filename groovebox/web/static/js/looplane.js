// The song's loop lane: a touch-sized strip above the bar numbers that shows the loop region (bright when
// the loop is on) and sets it by dragging, in whole bars. A drag from one bar to another loops both and
// everything between; a drag that starts on an edge of the region moves that edge; a tap loops the bar
// tapped. With the lane focused, arrow keys move the region a bar, Shift+arrows move its end, Enter turns
// the loop on or off. Each gesture ends in one PATCH /api/transport {loop} (session state, like the
// position: not an undo step); its answer redraws at once and TRANSPORT messages keep every phone in step.
// The page shows a requested region at once and sends requests one after another; TRANSPORT messages (a
// separate connection, possibly a little behind) take over again once they show that region, or after
// HOLD_MS (another phone changed it meanwhile). A refusal shows its sentence and drops the request.

import { api } from "./api.js";
import { applyTransport, state } from "./store.js";
import { $, act, clamp, h } from "./ui.js";

const EDGE_PX = 18;
const HOLD_MS = 3000;

let gesture = null;        // {mode: "new" | "start" | "end", anchor, startBar, endBar} while a finger is down
let barPxOf = () => 56;
let requested = null;      // {loop, untilMs}: the region this page asked for, until TRANSPORT shows it
let queue = Promise.resolve();

const sameLoop = (a, b) => a.startBar === b.startBar && a.endBar === b.endBar && Boolean(a.enabled) === Boolean(b.enabled);

// The song loop region as the page knows it: {enabled, startBar, endBar} (bars from 0, end excluded).
export function loopNow() {
  const reported = state.transport?.song?.loop ?? { enabled: false, startBar: 0, endBar: 4 };
  if (requested && (sameLoop(requested.loop, reported) || performance.now() > requested.untilMs)) requested = null;
  return requested ? requested.loop : reported;
}

export function buildLoopLane(getBarPx) {
  barPxOf = getBarPx;
  const lane = h("div", { class: "tl-looplane", tabindex: "0", role: "group" },
    h("div", { class: "tl-loop" }, h("span", { class: "tl-loop-text" })));
  lane.addEventListener("pointerdown", down);
  lane.addEventListener("pointermove", move);
  lane.addEventListener("pointerup", up);
  lane.addEventListener("pointercancel", () => { gesture = null; drawLoopLane(); });
  lane.addEventListener("keydown", key);
  return lane;
}

function barAt(event) {
  const box = $(".tl-looplane").getBoundingClientRect();
  return Math.max(0, (event.clientX - box.left) / barPxOf());
}

function down(event) {
  if (event.button > 0) return;
  event.currentTarget.setPointerCapture(event.pointerId);
  const at = barAt(event);
  const loop = loopNow();
  const px = barPxOf();
  const anchor = Math.floor(at);
  if (Math.abs(at - loop.endBar) * px <= EDGE_PX) gesture = { mode: "end", anchor, ...loop };
  else if (Math.abs(at - loop.startBar) * px <= EDGE_PX) gesture = { mode: "start", anchor, ...loop };
  else gesture = { mode: "new", anchor, startBar: anchor, endBar: anchor + 1 };
  drawLoopLane();
}

function move(event) {
  if (!gesture) return;
  const at = barAt(event);
  if (gesture.mode === "new") {
    const bar = Math.floor(at);
    gesture.startBar = Math.min(gesture.anchor, bar);
    gesture.endBar = Math.max(gesture.anchor, bar) + 1;
  } else if (gesture.mode === "start") {
    gesture.startBar = clamp(Math.round(at), 0, gesture.endBar - 1);
  } else {
    gesture.endBar = Math.max(gesture.startBar + 1, Math.round(at));
  }
  drawLoopLane();
}

function up() {
  if (!gesture) return;
  const { startBar, endBar } = gesture;
  gesture = null;
  setLoopRegion(startBar, endBar);
}

// Send the loop region (bars, end excluded) and whether it is on; nothing is sent when nothing changes.
export function setLoopRegion(startBar, endBar, enabled = Boolean(loopNow().enabled)) {
  const loop = { enabled, startBar, endBar };
  if (!sameLoop(loop, loopNow())) {
    const mine = { loop, untilMs: performance.now() + HOLD_MS };
    requested = mine;
    queue = queue.then(() => send(mine));
  }
  drawLoopLane();
  return queue;
}

async function send(request) {
  const answer = await act(() => api("PATCH", "/api/transport", { loop: request.loop }));
  if (answer && requested === request) applyTransport(answer);
  else if (!answer && requested === request) requested = null;
  drawLoopLane();
}

function key(event) {
  const loop = loopNow();
  const step = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1 }[event.key];
  if (event.key === "Enter" || event.key === " ") setLoopRegion(loop.startBar, loop.endBar, !loop.enabled);
  else if (step && event.shiftKey) setLoopRegion(loop.startBar, Math.max(loop.startBar + 1, loop.endBar + step));
  else if (step && loop.startBar + step >= 0) setLoopRegion(loop.startBar + step, loop.endBar + step);
  else if (!step) return;
  event.preventDefault();
}

function barsText(startBar, endBar) {
  return endBar - startBar > 1 ? `bars ${startBar + 1}\u2013${endBar}` : `bar ${startBar + 1}`;
}

export function drawLoopLane() {
  const lane = $("#timeline .tl-looplane");
  if (!lane) return;
  const shown = gesture ?? loopNow();
  const enabled = Boolean(loopNow().enabled);
  const px = barPxOf();
  const band = $(".tl-loop", lane);
  band.style.left = `${shown.startBar * px}px`;
  band.style.width = `${(shown.endBar - shown.startBar) * px}px`;
  band.classList.toggle("on", enabled);
  band.classList.toggle("editing", Boolean(gesture));
  const words = barsText(shown.startBar, shown.endBar);
  $(".tl-loop-text", lane).textContent = `Loop ${words.replace(/^bars? /, "")}`;
  lane.setAttribute("aria-label", `Loop region, ${words}, ${enabled ? "on" : "off"}. Drag to set it; arrow keys ` +
    "move it, Shift+arrows change its end, Enter turns the loop on or off");
}
