// Small DOM helpers shared by the views: element building, toasts, dialogs, long-press, throttling,
// keyed lists (nodes are reused, so focus and in-progress drags survive a redraw) and formatting.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

// h("button", {class: "x", onclick: f, "aria-label": "..."}, "text", child...)
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name in element && !name.includes("-") && name !== "list") element[name] = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  return element;
}

export function toast(message, kind = "error") {
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  const close = () => item.remove();
  item.append(h("button", { class: "icon toast-close", type: "button", "aria-label": "Dismiss", onclick: close },
    "\u00d7"));
  // A modal dialog makes the rest of the page inert and covers it, so its errors are shown inside it.
  const dialogs = $$("dialog[open]");
  const host = dialogs.length ? dialogs[dialogs.length - 1] : document.body;
  let box = [...host.children].find((child) => child.classList.contains("toasts"));
  if (!box) box = host.appendChild(h("div", { class: "toasts", "aria-live": "assertive" }));
  box.append(item);
  setTimeout(close, kind === "error" ? 8000 : 4000);
}

// Run an action; any error (an ApiError carries the daemon's `detail`) is shown, never swallowed.
export async function act(work) {
  try {
    return await work();
  } catch (error) {
    toast(error?.message || String(error));
    return undefined;
  }
}

export function showDialog(dialog) {
  if (!dialog.open) dialog.showModal();
}

function answer(dialog) {
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
  });
}

// A question with OK / Cancel (and optionally a text field): resolves to true/false, or the text/null.
export async function ask(message, { ok = "OK", danger = false, field = null, value = "" } = {}) {
  const dialog = $("#ask-dialog");
  $("#ask-message").textContent = message;
  $("#ask-ok").textContent = ok;
  $("#ask-ok").classList.toggle("danger", danger);
  $("#ask-field").hidden = field === null;
  $("#ask-label").textContent = field ?? "";
  $("#ask-input").value = value;
  $("#ask-input").required = field !== null;
  dialog.returnValue = "";
  showDialog(dialog);
  if (field !== null) $("#ask-input").select();
  const result = await answer(dialog);
  if (field === null) return result === "ok";
  return result === "ok" ? $("#ask-input").value.trim() : null;
}

// Long-press (touch or mouse held still) calls `handler`; the click that follows it is swallowed. After a
// touch long-press the finger's lift is cancelled too: its emulated mouse events and click would otherwise
// land on whatever the handler opened under the finger (a slider in the settings sheet).
export function onLongPress(element, handler, delayMs = 500) {
  let timer = null;
  let origin = null;
  let fired = false;
  const cancel = () => { clearTimeout(timer); timer = null; };
  element.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    fired = false;
    origin = [event.clientX, event.clientY];
    timer = setTimeout(() => { fired = true; timer = null; handler(event); }, delayMs);
  });
  element.addEventListener("pointermove", (event) => {
    if (timer && Math.hypot(event.clientX - origin[0], event.clientY - origin[1]) > 12) cancel();
  });
  for (const name of ["pointerup", "pointercancel", "pointerleave"]) element.addEventListener(name, cancel);
  element.addEventListener("touchend", (event) => { if (fired) event.preventDefault(); });
  element.addEventListener("click", (event) => {
    if (fired) { event.stopImmediatePropagation(); event.preventDefault(); fired = false; }
  }, true);
  element.addEventListener("contextmenu", (event) => { event.preventDefault(); if (!fired) handler(event); });
}

// Call `work(value)` at most every `periodMs`, always ending with the last value. When `work` returns a
// promise (a request), the next call waits until it settles: two requests from one control are never in
// flight together, so the daemon cannot apply them out of order (they may travel on different connections).
export function throttle(work, periodMs) {
  let last = -Infinity;
  let timer = null;
  let running = false;
  let pending = null;
  const schedule = () => {
    if (timer || running || !pending) return;
    timer = setTimeout(run, Math.max(0, periodMs - (performance.now() - last)));
  };
  const run = async () => {
    timer = null;
    const args = pending;
    pending = null;
    last = performance.now();
    running = true;
    try {
      await work(...args);
    } finally {
      running = false;
      schedule();
    }
  };
  return (...args) => {
    pending = args;
    if (!timer && !running && performance.now() - last >= periodMs) run();
    else schedule();
  };
}

export function debounce(work, delayMs) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => work(...args), delayMs); };
}

// Inputs the user is holding (a slider being dragged or just moved, a field being typed in) are not
// overwritten: the daemon's echo of an earlier value would pull the slider back under the finger or keys.
const SETTLE_MS = 1000;

export function busy(input) {
  return input.dataset.held === "1" || document.activeElement === input && input.type !== "range" ||
    performance.now() - (input.movedAt ?? -Infinity) < SETTLE_MS;
}

export function holdWhileDragging(input) {
  input.addEventListener("input", () => { input.movedAt = performance.now(); });
  input.addEventListener("pointerdown", () => { input.dataset.held = "1"; });
  const release = () => { input.dataset.held = ""; };
  input.addEventListener("pointerup", release);
  input.addEventListener("pointercancel", release);
  input.addEventListener("change", release);
}

export function setValue(input, value) {
  if (!busy(input) && String(input.value) !== String(value)) input.value = value;
}

// Keep `container`'s children in step with `items`: existing nodes (by key) are updated, not rebuilt.
export function keyed(container, items, keyOf, create, update) {
  const existing = new Map([...container.children].map((node) => [node.dataset.key, node]));
  let previous = null;
  for (const item of items) {
    const key = String(keyOf(item));
    let node = existing.get(key);
    if (node) existing.delete(key);
    else {
      node = create(item);
      node.dataset.key = key;
    }
    update(node, item);
    const wanted = previous ? previous.nextSibling : container.firstChild;
    if (wanted !== node) container.insertBefore(node, wanted);
    previous = node;
  }
  for (const node of existing.values()) node.remove();
}

export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

export function formatBpm(bpm) {
  return bpm ? `${Number(bpm).toFixed(Number.isInteger(bpm) ? 0 : 1)} BPM` : "";
}

export function randomId() {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((byte) => alphabet[byte % alphabet.length]).join("");
}

export const clamp = (value, low, high) => Math.min(high, Math.max(low, value));
