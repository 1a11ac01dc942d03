// The daemon's HTTP API: JSON requests with the pairing cookie, uploads with progress.
// Every failure becomes an ApiError whose message is the daemon's `detail` sentence (or a sentence of our
// own when the groovebox cannot be reached), so the page can show it as it is.

import { emit } from "./store.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const UNREACHABLE = "the groovebox is not reachable; check the Wi-Fi (the page keeps retrying)";

function detailOf(status, statusText, data) {
  if (data && typeof data.detail === "string") return data.detail;
  return `the groovebox answered ${status} ${statusText}`.trim();
}

function refused(status, detail) {
  if (status === 401) emit("unpaired", detail);
  return new ApiError(status, detail);
}

export async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new ApiError(0, UNREACHABLE);
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw refused(response.status, detailOf(response.status, response.statusText, data));
  return data;
}

export function query(path, params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

// POST a file to the library with XMLHttpRequest, whose upload events give progress (fetch has none).
export function uploadLoop(file, fields, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/api/loops/upload");
    request.withCredentials = true;
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      const data = request.response;
      if (request.status >= 200 && request.status < 300) resolve(data);
      else reject(refused(request.status, detailOf(request.status, request.statusText, data)));
    });
    request.addEventListener("error", () => reject(new ApiError(0, UNREACHABLE)));
    const form = new FormData();
    form.append("file", file);
    for (const [key, value] of Object.entries(fields)) if (value) form.append(key, value);
    request.send(form);
  });
}
