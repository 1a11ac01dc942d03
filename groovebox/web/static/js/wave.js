// Waveforms: peaks from /api/loops/{id}/peaks (cached per loop and size) drawn on canvases. A canvas is
// (re)drawn whenever its size changes (a ResizeObserver), so a thumbnail in a hidden tab paints itself when
// the tab is shown, and drawings stay sharp at the device's pixel ratio.

import { api } from "./api.js";

const cache = new Map();
const painters = new WeakMap();
const observer = new ResizeObserver((entries) => {
  for (const entry of entries) paint(entry.target);
});

export function peaksOf(loopId, points) {
  const key = `${loopId}:${points}`;
  if (!cache.has(key)) {
    const request = api("GET", `/api/loops/${encodeURIComponent(loopId)}/peaks?points=${points}`)
      .then((body) => body.peaks)
      .catch((error) => { cache.delete(key); throw error; });
    cache.set(key, request);
  }
  return cache.get(key);
}

export function forgetPeaks(loopId) {
  for (const key of [...cache.keys()]) if (key.startsWith(`${loopId}:`)) cache.delete(key);
}

// Draw `peaks` ([min, max] pairs) on `canvas`. Options: color; from/to (the part of the loop, 0..1);
// cycles (how many times that part repeats across the width, for song clips longer than their loop).
export function drawWave(canvas, peaks, { color = "#8fd3ff", from = 0, to = 1, cycles = 1 } = {}) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.round(canvas.clientWidth * ratio);
  const height = Math.round(canvas.clientHeight * ratio);
  if (!width || !height) return;
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, width, height);
  if (!peaks?.length) return;
  context.fillStyle = color;
  const middle = height / 2;
  for (let x = 0; x < width; x += 1) {
    const within = ((x / width) * cycles) % 1;
    const index = Math.min(peaks.length - 1, Math.floor((from + within * (to - from)) * peaks.length));
    const [low, high] = peaks[index];
    const top = middle - Math.max(0, high) * middle;
    const bottom = middle - Math.min(0, low) * middle;
    context.fillRect(x, top, 1, Math.max(ratio, bottom - top));
  }
}

function paint(canvas) {
  const draw = painters.get(canvas);
  if (draw) draw();
}

// Keep `canvas` showing `draw()` (called now and on every resize); replaces an earlier painter.
export function paintWith(canvas, draw) {
  const first = !painters.has(canvas);
  painters.set(canvas, draw);
  if (first) observer.observe(canvas);
  draw();
}

// A loop's waveform on `canvas` (fetched once); `options` as for drawWave, or a function returning them.
export function showLoopWave(canvas, loopId, points, options = {}) {
  canvas.dataset.loopId = loopId ?? "";
  if (!loopId) {
    paintWith(canvas, () => drawWave(canvas, null));
    return;
  }
  peaksOf(loopId, points).then((peaks) => {
    if (canvas.dataset.loopId !== loopId) return;
    paintWith(canvas, () => drawWave(canvas, peaks, typeof options === "function" ? options() : options));
  }).catch(() => {
    if (canvas.dataset.loopId === loopId) canvas.dataset.loopId = "";   // the next redraw asks again
  });
}
