// The job list: newest first, live progress from server-sent events (polling when the stream
// fails), cancel and delete, and selection into the player.

import { api, followEvents, listPage, TERMINAL, ApiError } from "./api.js";
import { STATUS_LABELS, stageLabel, relativeTime, formatDuration } from "./format.js";

const MAX_STREAMS = 4;  // browsers allow ~6 connections per host over HTTP/1.1
const POLL_MS = 1500;

export function jobPrompt(job) {
  return job.request?.prompt ?? job.prompt ?? job.metadata?.request?.prompt ?? "Untitled song";
}

export function jobProgress(job) {
  const p = Number(job.progress);
  if (job.status === "succeeded") return 100;
  return Number.isFinite(p) ? Math.max(0, Math.min(100, p)) : 0;
}

export class JobList {
  constructor({ list, template, empty, more, onSelect, onUpdate, onError }) {
    this.list = list;
    this.template = template;
    this.empty = empty;
    this.more = more;
    this.onSelect = onSelect;
    this.onUpdate = onUpdate;
    this.onError = onError;
    this.jobs = new Map();
    this.items = new Map();
    this.followers = new Map();
    this.selected = null;
    this.cursor = null;
    this.armed = null;  // the job whose delete button asks for confirmation
    more.addEventListener("click", () => this.load(this.cursor));
  }

  async load(cursor = null) {
    const body = await api.list(cursor);
    const { items, next } = listPage(body);
    if (!cursor) {
      // A refresh of the first page: drop the rows in its time span that the server no longer
      // has (deleted elsewhere), keeping older rows loaded with "show older songs".
      const fresh = new Set(items.map((j) => j.id));
      const oldest = next && items.length ? Math.min(...items.map(createdMs)) : -Infinity;
      for (const [id, job] of [...this.jobs]) {
        if (!fresh.has(id) && !this.followers.has(id) && createdMs(job) >= oldest) this.forget(id);
      }
    }
    for (const job of items) this.upsert(job);
    // a refresh keeps the place "show older songs" has reached
    if (cursor || !this.paged) this.cursor = next;
    if (cursor) this.paged = true;
    this.more.hidden = !this.cursor;
    this.refreshEmpty();
  }

  get(id) { return this.jobs.get(id); }

  /** Adds or updates a row; starts following it while it is not finished. */
  upsert(job) {
    const before = this.jobs.get(job.id);
    const merged = { ...(before || {}), ...job };
    this.jobs.set(job.id, merged);
    let li = this.items.get(job.id);
    if (!li) {
      li = this.createRow(merged);
      this.items.set(job.id, li);
      this.place(li, merged);
    }
    this.renderRow(li, merged);
    this.refreshEmpty();
    if (!TERMINAL.has(merged.status)) this.follow(merged.id);
    this.onUpdate?.(merged, before);
    return merged;
  }

  /** Inserts a new row where its creation time puts it: newest first. */
  place(li, job) {
    const t = createdMs(job);
    for (const other of this.list.children) {
      const theirs = this.jobs.get(other.dataset.id);
      if (theirs && createdMs(theirs) < t) { this.list.insertBefore(li, other); return; }
    }
    this.list.append(li);
  }

  forget(id) {
    this.followers.get(id)?.abort();
    this.followers.delete(id);
    this.items.get(id)?.remove();
    this.items.delete(id);
    this.jobs.delete(id);
    this.refreshEmpty();
  }

  refreshEmpty() {
    this.empty.hidden = this.jobs.size > 0;
  }

  select(id) {
    this.selected = id;
    for (const [jid, li] of this.items) {
      li.classList.toggle("selected", jid === id);
      li.querySelector(".job-main").setAttribute("aria-current", jid === id ? "true" : "false");
    }
  }

  createRow(job) {
    const li = this.template.content.firstElementChild.cloneNode(true);
    li.dataset.id = job.id;
    li.querySelector(".job-main").addEventListener("click", () => this.onSelect(job.id));
    li.querySelector(".job-action").addEventListener("click", () => this.act(job.id));
    li.classList.toggle("selected", job.id === this.selected);
    return li;
  }

  renderRow(li, job) {
    const status = job.status || "queued";
    const progress = jobProgress(job);
    li.dataset.status = status;
    li.querySelector(".job-title").textContent = jobPrompt(job);
    const req = job.request || {};
    const meta = [];
    const song = job.song || job.metadata || {};
    const genre = song.style?.name || (typeof song.style === "string" ? song.style : null) || req.genre;
    if (genre) meta.push(genre);
    if (song.key) meta.push(song.key);
    const dur = song.duration_s ?? req.duration;
    if (dur) meta.push(formatDuration(dur));
    const seed = song.seed ?? job.seed ?? req.seed;
    if (seed !== undefined && seed !== null) meta.push(`seed ${seed}`);
    if (job.cached) meta.push("from cache");
    if (job.created_at) meta.push(relativeTime(job.created_at));
    li.querySelector(".job-meta").textContent = meta.join(" · ");
    const bar = li.querySelector(".job-progress");
    bar.setAttribute("aria-valuenow", String(Math.round(progress)));
    bar.setAttribute("aria-label", `Progress of “${jobPrompt(job).slice(0, 40)}”`);
    bar.hidden = status === "succeeded" || status === "cancelled";
    bar.querySelector(".progress-fill").style.width = `${progress}%`;
    const stage = li.querySelector(".job-stage");
    if (status === "failed") stage.textContent = job.error?.message || "Generation failed";
    else if (job.cancel_requested && !TERMINAL.has(status)) stage.textContent = "Cancelling…";
    else if (status === "running" || status === "queued") stage.textContent = `${stageLabel(job.stage, status)} · ${Math.round(progress)}%`;
    else stage.textContent = "";
    stage.hidden = !stage.textContent;
    const badge = li.querySelector(".badge");
    badge.textContent = STATUS_LABELS[status] || status;
    badge.className = `badge badge-${status}`;
    const action = li.querySelector(".job-action");
    const active = !TERMINAL.has(status);
    const armed = this.armed === job.id;
    action.textContent = active ? (job.cancel_requested ? "Cancelling…" : "Cancel") : armed ? "Confirm delete" : "Delete";
    action.disabled = Boolean(active && job.cancel_requested);
    action.classList.toggle("btn-danger", armed);
    action.setAttribute("aria-label", `${action.textContent} “${jobPrompt(job).slice(0, 40)}”`);
  }

  async act(id) {
    const job = this.jobs.get(id);
    if (!job) return;
    const active = !TERMINAL.has(job.status);
    if (!active && this.armed !== id) {
      // Deleting is permanent: a second press within 4 s confirms.
      const previous = this.armed;
      this.armed = id;
      if (previous && this.jobs.has(previous)) this.renderRow(this.items.get(previous), this.jobs.get(previous));
      this.renderRow(this.items.get(id), job);
      clearTimeout(this.disarm);
      this.disarm = setTimeout(() => {
        if (this.armed === id) { this.armed = null; if (this.jobs.has(id)) this.renderRow(this.items.get(id), this.jobs.get(id)); }
      }, 4000);
      return;
    }
    this.armed = null;
    try {
      const body = await api.remove(id);
      if (active) {
        const fresh = body && body.status ? body : await api.get(id).catch(() => null);
        this.upsert(fresh || { ...job, status: "cancelled" });
      } else {
        this.forget(id);
        this.onUpdate?.(null, job);
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) { this.forget(id); this.onUpdate?.(null, job); return; }
      this.onError?.(err);
      this.renderRow(this.items.get(id), job);
    }
  }

  /** Streams a job's events; falls back to polling when the stream fails or is full. */
  follow(id) {
    if (this.followers.has(id)) return;
    const controller = new AbortController();
    this.followers.set(id, controller);
    const streams = [...this.followers.values()].filter((c) => c.streaming).length;
    const run = async () => {
      let streamed = false;
      if (streams < MAX_STREAMS) {
        controller.streaming = true;
        try {
          streamed = await followEvents(id, (job) => {
            if (job.status === "deleted") { this.forget(id); this.onUpdate?.(null, { id }); return true; }
            this.upsert({ ...job, id });
            return TERMINAL.has(job.status);
          }, controller.signal);
        } catch (err) {
          if (controller.signal.aborted) return;
          if (err instanceof ApiError && err.status === 404) { this.forget(id); return; }
        } finally {
          controller.streaming = false;
        }
      }
      if (!streamed) await this.poll(id, controller.signal);
    };
    run().finally(() => {
      if (this.followers.get(id) === controller) this.followers.delete(id);
    });
  }

  async poll(id, signal) {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const job = await api.get(id);
        failures = 0;
        this.upsert(job);
        if (TERMINAL.has(job.status)) return;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError && err.status === 404) { this.forget(id); return; }
        failures += 1;
      }
      await sleep(Math.min(POLL_MS * 2 ** Math.min(failures, 4), 20000), signal);
    }
  }
}

/** A job's creation time in ms; one without a time yet is the newest. */
function createdMs(job) {
  const c = job.created_at;
  if (typeof c === "number") return c < 1e12 ? c * 1000 : c;
  const t = Date.parse(c);
  return Number.isFinite(t) ? t : Infinity;
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
  });
}
