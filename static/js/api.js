// Fetch wrapper: same-origin JSON calls with the session cookie; RFC 9457 problems → ApiError.

export const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, problem) {
    const p = problem || {};
    super(p.detail || p.title || `Request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.title = p.title || "Error";
    this.detail = p.detail || "";
    this.errors = p.errors || null;
    this.problem = p;
    this.requestId = p.request_id || null;
    this.retryAfter = p.retry_after || null;
  }
}

let onUnauthorized = null;
/** Called with the ApiError whenever an authenticated call answers 401. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

function networkError(err) {
  return new ApiError(0, {
    title: "Network error",
    detail: "",
    cause: String(err),
  });
}

async function problemFrom(response) {
  let body = null;
  const type = response.headers.get("Content-Type") || "";
  try {
    body = type.includes("json") ? await response.json() : { detail: await response.text() };
  } catch {
    body = null;
  }
  if (!body || typeof body !== "object") body = {};
  // The reason phrase is never shown (dom.plainMessage words every status for people).
  const after = response.headers.get("Retry-After");
  if (after && /^\d+$/.test(after)) body.retry_after = Number(after);
  return new ApiError(response.status, body);
}

/**
 * Call the API. `path` is relative to /api/v1 unless it starts with "/".
 * Resolves with the parsed JSON (or null for 204); rejects with ApiError.
 */
export async function api(method, path, body, { signal, quiet401 = false } = {}) {
  const url = path.startsWith("/") ? path : `${BASE}/${path}`;
  const init = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json" },
    signal,
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw networkError(err);
  }
  if (!response.ok) {
    const error = await problemFrom(response);
    if (response.status === 401 && !quiet401 && onUnauthorized) onUnauthorized(error);
    throw error;
  }
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const get = (path, opts) => api("GET", path, undefined, opts);
export const post = (path, body, opts) => api("POST", path, body ?? {}, opts);
export const patch = (path, body, opts) => api("PATCH", path, body, opts);
export const del = (path, opts) => api("DELETE", path, undefined, opts);

/**
 * Read an NDJSON stream, calling onLine(obj) for each line as soon as it arrives.
 * Resolves with the number of lines when the stream ends; rejects with ApiError.
 */
export async function ndjson(path, onLine, { signal } = {}) {
  const url = path.startsWith("/") ? path : `${BASE}/${path}`;
  let response;
  try {
    response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/x-ndjson" },
      signal,
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw networkError(err);
  }
  if (!response.ok) {
    const error = await problemFrom(response);
    if (response.status === 401 && onUnauthorized) onUnauthorized(error);
    throw error;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let count = 0;
  const emit = (line) => {
    const text = line.trim();
    if (!text) return;
    let obj;
    try {
      obj = JSON.parse(text);
    } catch {
      obj = { error: { message: "The server sent a line that is not JSON." } };
    }
    count += 1;
    onLine(obj);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      emit(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  }
  buffer += decoder.decode();
  emit(buffer);
  return count;
}
