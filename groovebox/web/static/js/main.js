// The phone page's entry point: pairing, the screens (tabs), the animation loop, and start-up.
//
// Start-up asks /api/tokens: 200 means this browser's cookie is paired (start the app), 401 shows the
// pairing screen. A 401 from any later request (the token was revoked) brings the pairing screen back.

import { api } from "./api.js";
import { emit, on } from "./store.js";
import { start as startSocket, stop as stopSocket } from "./socket.js";
import { initLoopDialogs } from "./loops.js";
import { animateMeters, initTopbar } from "./topbar.js";
import { animatePads, initPads } from "./pads.js";
import { animateSong, initSong } from "./song.js";
import { initLibrary } from "./library.js";
import { initGenerate } from "./generate.js";
import { initMixer } from "./mixer.js";
import { initRecordings } from "./recordings.js";
import { initScene } from "./scene.js";
import { $, $$ } from "./ui.js";

const SCREENS = ["pads", "song", "library", "generate", "scene", "mixer"];
let started = false;

function showScreen(name, { focus = false } = {}) {
  const screen = SCREENS.includes(name) ? name : "pads";
  for (const other of SCREENS) {
    const tab = $(`#tab-${other}`);
    const selected = other === screen;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`#view-${other}`).hidden = !selected;
  }
  if (focus) $(`#tab-${screen}`).focus();
  if (location.hash !== `#${screen}`) history.replaceState(null, "", `#${screen}`);
  emit(`show-${screen}`);
}

function initTabs() {
  for (const name of SCREENS) $(`#tab-${name}`).addEventListener("click", () => showScreen(name));
  $(".tabs").addEventListener("keydown", (event) => {
    const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -SCREENS.length, End: SCREENS.length };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const current = SCREENS.findIndex((name) => $(`#tab-${name}`).getAttribute("aria-selected") === "true");
    const next = Math.min(SCREENS.length - 1, Math.max(0, current + moves[event.key]));
    showScreen(SCREENS[next], { focus: true });
  });
  on("show-tab", (name) => showScreen(name));
  window.addEventListener("hashchange", () => showScreen(location.hash.slice(1)));
}

function frame() {
  if (!document.hidden) {
    animateMeters();
    animatePads();
    animateSong();
  }
  requestAnimationFrame(frame);
}

function startApp() {
  $("#pairing").hidden = true;
  $("#app").hidden = false;
  if (!started) {
    started = true;
    initLoopDialogs();
    initTopbar();
    initPads();
    initSong();
    initLibrary();
    initGenerate();
    initMixer();
    initRecordings();
    initScene();
    initTabs();
    requestAnimationFrame(frame);
  }
  showScreen(location.hash.slice(1));
  startSocket();
}

function showPairing(message = "") {
  stopSocket();
  for (const dialog of $$("dialog[open]")) dialog.close();
  $("#app").hidden = true;
  $("#pairing").hidden = false;
  $("#pair-error").textContent = message;
  $("#pair-pin").value = "";
  $("#pair-pin").focus();
}

async function pair(event) {
  event.preventDefault();
  const button = $("#pair-form button[type=submit]");
  button.disabled = true;
  try {
    const label = $("#pair-label").value.trim() || "phone page";
    await api("POST", "/api/pair", { pin: $("#pair-pin").value.trim(), label });
    startApp();
  } catch (error) {
    $("#pair-error").textContent = error.message;
    $("#pair-pin").select();
  } finally {
    button.disabled = false;
  }
}

async function boot() {
  $("#pair-form").addEventListener("submit", pair);
  on("unpaired", () => { if (!$("#app").hidden || !started) showPairing("This device is not paired (any more): type the new PIN."); });
  for (;;) {
    try {
      await api("GET", "/api/tokens");
      startApp();
      return;
    } catch (error) {
      if (error.status === 401) { showPairing(); return; }
      $("#pairing").hidden = false;
      $("#pair-error").textContent = error.message;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

boot();
