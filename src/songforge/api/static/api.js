// The songforge REST client: JSON calls, the {error: {code, message, field}} shape, auth, and a
// server-sent-events reader built on fetch (EventSource cannot send an Authorization header).

const KEY_STORAGE = "songforge.apiKey";
export const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/** An error the API answered with (or a network failure, status 0). */
export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** The API root: the folder the page was served from, so a reverse-proxy prefix keeps working. */
export const root = new URL("./", document.baseURI);

export function url(path, params = {}) {
  const u = new URL(path.replace(/^\//, ""), root);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
  }
  return u.toString();
}

export const apiKey = {
  get() {
    try { return localStorage.getItem(KEY_STORAGE) || ""; } catch { return ""; }
  },
  set(value) {
    try {
      if (value) localStorage.setItem(KEY_STORAGE, value);
      else localStorage.removeItem(KEY_STORAGE);
    } catch { /* private mode: the key lasts for this page only */ }
  },
};

export function authHeaders(extra = {}) {
  const key = apiKey.get();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : { ...extra };
}

/** Turns any non-2xx answer into an ApiError, reading the API's error body when there is one. */
async function errorFrom(response) {
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  const err = body && typeof body === "object" ? body.error ?? body : null;
  if (err && typeof err === "object" && (err.message || err.code)) {
    return new ApiError(response.status, err.code || "error", err.message || String(err.code), err.field ?? null);
  }
  if (body && Array.isArray(body.detail) && body.detail.length) {  // a bare FastAPI 422
    const first = body.detail[0];
    const loc = (first.loc || []).filter((p) => p !== "body");
    return new ApiError(response.status, "invalid_request", first.msg, loc.length ? String(loc[0]) : null);
  }
  if (body && typeof body.detail === "string") return new ApiError(response.status, "error", body.detail);
  const text = response.statusText || "request failed";
  return new ApiError(response.status, "http_" + response.status, `${response.status} ${text}`);
}

export async function request(method, path, { body, params, signal, raw = false } = {}) {
  const init = { method, headers: authHeaders({ Accept: raw ? "*/*" : "application/json" }), signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url(path, params), init);
  } catch (exc) {
    if (exc.name === "AbortError") throw exc;
    throw new ApiError(0, "network", "Cannot reach the songforge server. Is it running?");
  }
  if (!response.ok) throw await errorFrom(response);
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : null;
}

export const api = {
  styles: () => request("GET", "v1/styles"),
  create: (song) => request("POST", "v1/songs", { body: song }),
  list: (cursor, limit = 20) => request("GET", "v1/songs", { params: { cursor, limit } }),
  get: (id) => request("GET", `v1/songs/${encodeURIComponent(id)}`),
  /** Cancels a queued or running job (202 + the job), or deletes a finished one (204). */
  remove: (id) => request("DELETE", `v1/songs/${encodeURIComponent(id)}`),
  metadata: (id) => request("GET", `v1/songs/${encodeURIComponent(id)}/metadata`),
  blob: async (path, params, signal) => {
    const response = await request("GET", path, { params, signal, raw: true });
    return { blob: await response.blob(), filename: filenameFrom(response) };
  },
};

function filenameFrom(response) {
  const cd = response.headers.get("content-disposition") || "";
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(cd);
  if (star) { try { return decodeURIComponent(star[1]); } catch { /* fall through */ } }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(cd);
  return plain ? plain[1] : null;
}

/** Pages the list response: accepts {items|songs|data, next_cursor|next} or a bare array. */
export function listPage(body) {
  if (Array.isArray(body)) return { items: body, next: null };
  const items = body?.items ?? body?.songs ?? body?.data ?? body?.jobs ?? [];
  const next = body?.next_cursor ?? body?.next ?? body?.cursor ?? null;
  return { items, next };
}

/**
 * Follows GET /v1/songs/{id}/events, calling onJob(job) for every event that carries a job
 * ("progress" carries the whole job, "end" its id and final status). Resolves true once onJob
 * returns true (the job is finished), false if the stream ends first; rejects when the stream
 * cannot be read (the caller then polls instead).
 */
export async function followEvents(id, onJob, signal) {
  const response = await fetch(url(`v1/songs/${encodeURIComponent(id)}/events`), {
    headers: authHeaders({ Accept: "text/event-stream" }),
    signal,
    cache: "no-store",
  });
  if (!response.ok) throw await errorFrom(response);
  const type = response.headers.get("content-type") || "";
  if (!type.includes("text/event-stream") || !response.body) throw new ApiError(0, "no_sse", "no event stream");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { type: "message", data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false;  // ended before a terminal status: let the caller decide
    buffer += value;
    let nl;
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
      if (line === "") {
        if (event.data.length) {
          const job = parseEventJob(event.type, event.data.join("\n"));
          if (job && onJob(job)) { reader.cancel().catch(() => {}); return true; }
        }
        event = { type: "message", data: [] };
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event.type = val;
        else if (field === "data") event.data.push(val);
      }
    }
  }
}

function parseEventJob(type, data) {
  let payload;
  try { payload = JSON.parse(data); } catch { return null; }
  if (!payload || typeof payload !== "object") return null;
  const job = payload.job && typeof payload.job === "object" ? payload.job : payload;
  if (!job.status && TERMINAL.has(type)) job.status = type;
  return job.status || job.progress !== undefined ? job : null;
}
