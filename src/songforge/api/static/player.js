// The player: a selected job's progress, or its audio with the waveform, section markers,
// facts from the metadata sheet, and downloads for the song, stems, MIDI and metadata.

import { api, request, url, TERMINAL, ApiError } from "./api.js";
import { Waveform, decodePeaks } from "./waveform.js";
import { formatTime, plural, sectionLabel, stageLabel, slug, titleCase } from "./format.js";
import { jobPrompt, jobProgress } from "./jobs.js";

const $ = (id) => document.getElementById(id);

const EXTENSIONS = {
  "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
  "audio/flac": "flac", "audio/x-flac": "flac", "audio/mpeg": "mp3", "audio/mp3": "mp3",
  "audio/ogg": "ogg", "audio/midi": "mid", "audio/x-midi": "mid", "audio/mid": "mid",
  "application/json": "json",
};

export class Player {
  constructor({ announce, onError }) {
    this.announce = announce;
    this.onError = onError;
    this.job = null;
    this.metadata = null;
    this.loaded = null;   // id of the job whose audio is in the player
    this.loading = null;  // AbortController of the load in flight
    this.objectUrl = null;
    this.audio = $("audio");
    this.waveform = new Waveform({
      canvas: $("waveform-canvas"),
      markers: $("section-markers"),
      hover: $("wave-hover"),
      audio: this.audio,
      onSeek: (t) => this.seek(t),
    });
    this.bindTransport();
    this.bindDownloads();
  }

  /** Shows a job: its progress while it runs, its audio once it has succeeded. */
  show(job) {
    const switched = this.job?.id !== job?.id;
    this.job = job;
    $("player-empty").hidden = Boolean(job);
    $("player-body").hidden = !job;
    if (!job) { this.unload(); return; }
    if (switched) {
      this.unload();
      $("song-title").textContent = jobPrompt(job);
      $("song-facts").replaceChildren();
    }
    const status = job.status || "queued";
    const running = !TERMINAL.has(status);
    $("player-progress").hidden = !running;
    const progress = jobProgress(job);
    const bar = $("player-progress").querySelector(".progress");
    bar.setAttribute("aria-valuenow", String(Math.round(progress)));
    bar.querySelector(".progress-fill").style.width = `${progress}%`;
    $("player-stage").textContent = running ? `${stageLabel(job.stage, status)} — ${Math.round(progress)}%` : "";
    this.renderSteps(job);
    $("player-cancel").disabled = Boolean(job.cancel_requested);
    $("player-cancel").textContent = job.cancel_requested ? "Cancelling…" : "Cancel this song";
    clearInterval(this.clock);
    if (running) {
      const tick = () => {
        const since = Date.parse(job.started_at || job.created_at);
        $("player-elapsed").textContent = Number.isFinite(since) ? `${formatTime((Date.now() - since) / 1000)} elapsed` : "";
      };
      tick();
      this.clock = setInterval(tick, 1000);
    }
    $("player-state").textContent = { queued: "Queued", running: "Making your song…", failed: "Failed", cancelled: "Cancelled" }[status] || "";
    $("player-state").dataset.status = status;
    const err = $("player-error");
    err.hidden = status !== "failed" && status !== "cancelled";
    err.textContent = status === "failed"
      ? `Generation failed: ${job.error?.message || "unknown error"}${job.error?.code ? ` (${job.error.code})` : ""}`
      : status === "cancelled" ? "This song was cancelled before it finished." : "";
    $("deck").hidden = status !== "succeeded";
    if (status === "succeeded" && this.loaded !== job.id) this.load(job);
  }

  /** The stage stepper: steps before the current one are done. */
  renderSteps(job) {
    const head = String(job.stage || "").split(":")[0];
    const steps = [...$("player-steps").children];
    const at = steps.findIndex((li) => li.dataset.step === head);
    const known = at >= 0 ? at : head === "encode" || head === "store" || head === "done" ? steps.length : -1;
    steps.forEach((li, i) => {
      li.classList.toggle("done", i < known);
      li.classList.toggle("current", i === known && job.status === "running");
      if (i === known && job.status === "running") li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
    });
  }

  unload() {
    clearInterval(this.clock);
    this.loading?.abort();
    this.loading = null;
    this.loaded = null;
    this.metadata = null;
    this.audio.pause();
    this.audio.removeAttribute("src");
    this.audio.load();
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.objectUrl = null;
    this.waveform.clear();
    $("play").disabled = true;
    this.setWaveState("loading", "Loading audio…");
    $("stem-list").replaceChildren();
    $("section-table").replaceChildren();
    $("instrument-list").replaceChildren();
    $("now-section").textContent = "";
    this.updateTime();
  }

  async load(job) {
    this.loaded = job.id;
    const controller = new AbortController();
    this.loading = controller;
    const id = encodeURIComponent(job.id);
    try {
      const metadata = job.metadata?.sections ? job.metadata : await api.metadata(job.id);
      if (controller.signal.aborted) return;
      this.metadata = metadata;
      this.renderFacts(metadata);
      this.renderDownloads(job, metadata);
      this.waveform.setSections(metadata.sections, metadata.duration_s);
      this.renderSections(metadata);

      const response = await request("GET", `v1/songs/${id}/audio`, { signal: controller.signal, raw: true });
      const bytes = await readWithProgress(response, (f) => this.setWaveState("loading", `Loading audio… ${Math.round(100 * f)}%`));
      if (controller.signal.aborted) return;
      const type = response.headers.get("content-type") || "audio/wav";
      this.objectUrl = URL.createObjectURL(new Blob([bytes], { type }));
      this.audio.src = this.objectUrl;
      $("play").disabled = false;
      // decodeAudioData takes ownership of the buffer it is given: hand it a copy.
      const { peaks, duration_s } = await decodePeaks(bytes.slice(0));
      if (controller.signal.aborted) return;
      this.waveform.setPeaks(peaks, duration_s);
      this.setWaveState("ready");
      this.announce(`Song ready: ${jobPrompt(job)}`);
    } catch (err) {
      if (controller.signal.aborted || err.name === "AbortError") return;
      this.setWaveState("error", err instanceof ApiError
        ? `Could not load the audio: ${err.message}`
        : "This browser could not decode the audio; the download buttons still work.");
      if (err instanceof ApiError) this.onError?.(err);
    }
  }

  /** loading | ready | error, on #waveform's data-state (tests wait on it too). */
  setWaveState(state, text = "") {
    $("waveform").dataset.state = state;
    $("wave-loading").hidden = state === "ready";
    $("wave-loading").textContent = text;
  }

  seek(t) {
    if (!Number.isFinite(t)) return;
    this.audio.currentTime = t;
    this.waveform.draw();
    this.updateTime();
  }

  bindTransport() {
    const audio = this.audio;
    const play = $("play");
    play.addEventListener("click", () => {
      if (audio.paused) audio.play().catch((e) => this.onError?.(new ApiError(0, "playback", `Playback failed: ${e.message}`)));
      else audio.pause();
    });
    const sync = () => {
      const playing = !audio.paused;
      play.classList.toggle("playing", playing);
      play.setAttribute("aria-label", playing ? "Pause" : "Play");
    };
    audio.addEventListener("play", sync);
    audio.addEventListener("pause", sync);
    audio.addEventListener("ended", sync);
    for (const ev of ["timeupdate", "durationchange", "seeked", "loadedmetadata"]) {
      audio.addEventListener(ev, () => this.updateTime());
    }
    $("volume").addEventListener("input", (e) => { audio.volume = Number(e.target.value); });
    document.addEventListener("keydown", (e) => {
      // Space plays and pauses anywhere that is not a control of its own.
      if (e.key !== " " || e.defaultPrevented || $("deck").hidden || play.disabled) return;
      if (e.target.closest("input, textarea, select, button, a, summary, [contenteditable], canvas")) return;
      e.preventDefault();
      play.click();
    });
  }

  updateTime() {
    const t = this.audio.currentTime || 0;
    const d = this.waveform.duration;
    $("time-current").textContent = formatTime(t);
    $("time-total").textContent = formatTime(d);
    const sections = this.metadata?.sections || [];
    let current = null;
    for (const s of sections) if (Number(s.start_s) <= t + 0.01) current = s;
    let text = "";
    if (current) {
      text = sectionLabel(current);
      const bars = Number(current.bars);
      const span = Number(current.end_s) - Number(current.start_s);
      if (bars > 0 && span > 0 && Number.isFinite(Number(current.start_bar))) {
        const bar = Math.min(bars - 1, Math.floor(((t - current.start_s) / span) * bars)) + Number(current.start_bar);
        text += ` · bar ${bar + 1}`;
        const chord = chordAt(this.metadata.chords_by_bar, bar);
        if (chord) text += ` · ${chord}`;
      }
    }
    $("now-section").textContent = text;
    for (const li of $("section-table").children) li.classList.toggle("current", li.dataset.index === String(sections.indexOf(current)));
  }

  renderFacts(m) {
    const facts = [];
    if (m.style?.name) facts.push(["Style", m.style.name]);
    if (m.key) facts.push(["Key", m.key]);
    if (m.tempo_bpm) facts.push(["Tempo", `${Math.round(m.tempo_bpm * 10) / 10} BPM`]);
    if (m.time_signature) facts.push(["Meter", m.time_signature]);
    if (m.duration_s) facts.push(["Length", formatTime(m.duration_s)]);
    if (m.loudness?.integrated_lufs !== undefined) facts.push(["Loudness", `${m.loudness.integrated_lufs} LUFS`]);
    if (m.loudness?.true_peak_dbtp !== undefined) facts.push(["Peak", `${m.loudness.true_peak_dbtp} dBTP`]);
    if (m.seed !== undefined) facts.push(["Seed", String(m.seed)]);
    $("song-facts").replaceChildren(...facts.map(([k, v]) => {
      const li = document.createElement("li");
      li.className = "chip";
      const dt = document.createElement("span");
      dt.className = "chip-key";
      dt.textContent = k;
      li.append(dt, document.createTextNode(v));
      return li;
    }));
  }

  renderSections(m) {
    const sections = m.sections || [];
    $("section-table").replaceChildren(...sections.map((s, i) => {
      const li = document.createElement("li");
      li.dataset.index = String(i);
      const b = document.createElement("button");
      b.type = "button";
      b.className = "section-row";
      b.addEventListener("click", () => { this.seek(Number(s.start_s)); });
      const name = document.createElement("span");
      name.className = "section-name";
      name.textContent = sectionLabel(s);
      const when = document.createElement("span");
      when.className = "section-when";
      when.textContent = `${formatTime(s.start_s)} · ${plural(s.bars, "bar")}`;
      const energy = document.createElement("span");
      energy.className = "energy";
      energy.title = `Energy ${Math.round((s.energy ?? 0) * 100)}%`;
      energy.style.setProperty("--energy", String(s.energy ?? 0));
      b.append(name, when, energy);
      li.append(b);
      return li;
    }));
    $("song-details").hidden = sections.length === 0 && !Object.keys(m.instruments || {}).length;
    const instruments = m.instruments || {};
    $("instrument-list").replaceChildren(...Object.entries(instruments).map(([part, info]) => {
      const li = document.createElement("li");
      const name = document.createElement("strong");
      name.textContent = titleCase(part);
      const detail = document.createElement("span");
      detail.className = "muted small";
      detail.textContent = [info?.role, info?.source, info?.notes !== undefined ? `${info.notes} notes` : null].filter(Boolean).join(" · ");
      li.append(name, detail);
      return li;
    }));
  }

  /** Points the download buttons at this job; the song's format defaults to the one it was made in. */
  renderDownloads(job, m) {
    const id = encodeURIComponent(job.id);
    const base = `${slug(jobPrompt(job))}-${String(job.id).slice(0, 8)}`;
    this.downloadBase = base;
    const fmt = job.song?.format || m.audio?.format || m.request?.format || job.request?.format || "wav";
    this.nativeFormat = fmt;
    $("download-format").value = fmt;
    this.updateSongLink();
    setLink($("download-midi"), `v1/songs/${id}/midi`, `${base}.mid`);
    setLink($("download-metadata"), `v1/songs/${id}/metadata`, `${base}.json`);
    const stems = job.links?.stems && typeof job.links.stems === "object" && !Array.isArray(job.links.stems)
      ? Object.keys(job.links.stems) : Object.keys(m.instruments || {});
    $("stems-row").hidden = stems.length === 0;
    $("stem-list").replaceChildren(...stems.map((part) => {
      const a = document.createElement("a");
      a.className = "btn btn-small";
      a.dataset.kind = "stem";
      a.textContent = titleCase(part);
      a.setAttribute("aria-label", `Download the ${titleCase(part)} stem`);
      setLink(a, `v1/songs/${id}/stems/${encodeURIComponent(part)}`, `${base}-${slug(part)}.${fmt}`);
      return a;
    }));
  }

  updateSongLink() {
    if (!this.job) return;
    const fmt = $("download-format").value;
    const id = encodeURIComponent(this.job.id);
    const params = fmt === this.nativeFormat ? {} : { format: fmt };  // the stored file as is
    setLink($("download-song"), url(`v1/songs/${id}/audio`, params), `${this.downloadBase}.${fmt}`);
    $("download-song").setAttribute("aria-label", `Download the song as ${fmt.toUpperCase()}`);
  }

  bindDownloads() {
    $("download-format").addEventListener("change", () => this.updateSongLink());
    $("downloads").addEventListener("click", async (e) => {
      const a = e.target.closest("a[download]");
      if (!a) return;
      // Fetch rather than navigate, so an API key is sent and an error shows here, not as a file.
      e.preventDefault();
      if (a.getAttribute("aria-busy") === "true") return;
      a.setAttribute("aria-busy", "true");
      try {
        const { blob, filename } = await api.blob(a.getAttribute("href"));
        saveBlob(blob, nameFor(a.getAttribute("download"), blob.type, filename));
      } catch (err) {
        this.onError?.(err instanceof ApiError ? err : new ApiError(0, "download", `Download failed: ${err.message}`));
      } finally {
        a.removeAttribute("aria-busy");
      }
    });
  }

  /** The request of the song in the player, for "use these settings". */
  request() {
    return this.metadata?.request || this.job?.request || null;
  }
}

/** The response body as an ArrayBuffer, reporting the fraction read when the size is known. */
async function readWithProgress(response, onFraction) {
  const total = Number(response.headers.get("content-length"));
  if (!response.body || !(total > 0)) return response.arrayBuffer();
  const reader = response.body.getReader();
  const out = new Uint8Array(total);
  let received = 0, shown = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (received + value.length > total) return concatFallback(out.subarray(0, received), value, reader);
    out.set(value, received);
    received += value.length;
    if (received / total - shown >= 0.02) { shown = received / total; onFraction(shown); }
  }
  return out.buffer.slice(0, received);
}

/** When the body outgrows its Content-Length (a compressed transfer): collect the rest plainly. */
async function concatFallback(head, value, reader) {
  const chunks = [head, value];
  for (;;) {
    const { value: more, done } = await reader.read();
    if (done) break;
    chunks.push(more);
  }
  return new Blob(chunks).arrayBuffer();
}

function setLink(a, href, filename) {
  a.href = href.startsWith("http") ? href : url(href);
  a.setAttribute("download", filename);
}

/** Our file name, with the extension the server's content type implies. */
function nameFor(wanted, type, serverName) {
  const ext = EXTENSIONS[(type || "").split(";")[0].trim()];
  if (!wanted) return serverName || "download";
  return ext ? wanted.replace(/\.[a-z0-9]+$/i, `.${ext}`) : wanted;
}

function saveBlob(blob, filename) {
  const href = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = href;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60000);
}

function chordAt(chords, bar) {
  if (!chords) return "";
  const entry = Array.isArray(chords) ? chords[bar] : chords[String(bar)] ?? chords[String(bar + 1)];
  if (!entry) return "";
  return Array.isArray(entry) ? entry.join(" ") : typeof entry === "object" ? entry.symbol || entry.name || "" : String(entry);
}
