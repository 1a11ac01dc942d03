// Song arrangement edits. There are no per-clip routes: every change sends the whole live project with
// PUT /api/projects/current (one undo step each); the answer, and the PROJECT_UPDATED broadcast, redraw.

import { api } from "./api.js";
import { applyProject, emit, state } from "./store.js";
import { act, randomId } from "./ui.js";

export function findClip(project, clipId) {
  for (const track of project.tracks) {
    const clip = track.clips.find((item) => item.clipId === clipId);
    if (clip) return { track, clip };
  }
  return null;
}

// Apply `change` to a copy of the live project and send it; `change` returning false cancels. A refusal is
// shown (the daemon's sentence) and the views redraw from the unchanged state.
export async function saveSong(change) {
  const next = structuredClone(state.project);
  if (change(next) === false) return false;
  const saved = await act(() => api("PUT", "/api/projects/current", next));
  if (saved) applyProject({ project: saved });
  else emit("project");
  return Boolean(saved);
}

export function newTrack(project) {
  const track = { trackId: randomId(), trackName: `Track ${project.tracks.length + 1}`, volume: 0.8, pan: 0,
    isMuted: false, isSoloed: false, clips: [] };
  project.tracks.push(track);
  return track;
}

// The first whole bar after a track's last clip.
export function trackEnd(track) {
  return track ? Math.max(0, ...track.clips.map((clip) => Math.ceil(clip.startBar + clip.durationBars))) : 0;
}
