// The waveform: peaks decoded with WebAudio, drawn on a canvas with section bands and a playhead
// that follows an <audio> element; click, drag or arrow keys to seek.

import { formatTime, sectionLabel } from "./format.js";

const PEAK_BUCKETS = 3000;

/** Min/max pairs of the mono mix in `buckets` equal slices: Float32Array [min0, max0, min1, ...]. */
export function computePeaks(audioBuffer, buckets = PEAK_BUCKETS) {
  const channels = [];
  for (let c = 0; c < audioBuffer.numberOfChannels; c++) channels.push(audioBuffer.getChannelData(c));
  const n = audioBuffer.length;
  const count = Math.max(1, Math.min(buckets, n));
  const peaks = new Float32Array(count * 2);
  const scale = 1 / channels.length;
  for (let b = 0; b < count; b++) {
    const start = Math.floor((b * n) / count);
    const end = Math.max(start + 1, Math.floor(((b + 1) * n) / count));
    let lo = 0, hi = 0;
    for (let i = start; i < end; i++) {
      let v = 0;
      for (const ch of channels) v += ch[i];
      v *= scale;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    peaks[2 * b] = lo;
    peaks[2 * b + 1] = hi;
  }
  return peaks;
}

/** Decodes encoded audio bytes (any format the browser reads) into peaks and a duration. */
export async function decodePeaks(bytes) {
  const Ctx = window.OfflineAudioContext || window.webkitOfflineAudioContext;
  // decodeAudioData resamples to the context rate; a low rate keeps the decoded copy small.
  const ctx = new Ctx(1, 1, 22050);
  const buffer = await ctx.decodeAudioData(bytes);
  return { peaks: computePeaks(buffer), duration_s: buffer.duration };
}

function cssVar(el, name, fallback) {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v || fallback;
}

export class Waveform {
  constructor({ canvas, markers, hover, audio, onSeek }) {
    this.canvas = canvas;
    this.markers = markers;
    this.hover = hover;
    this.audio = audio;
    this.onSeek = onSeek || ((t) => { audio.currentTime = t; });
    this.peaks = null;
    this.sections = [];
    this.duration_s = 0;
    this.hoverX = null;
    this.frame = 0;
    this.colors = null;

    new ResizeObserver(() => this.draw()).observe(canvas);
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => { this.colors = null; this.draw(); });
    for (const ev of ["timeupdate", "seeked", "durationchange", "loadedmetadata"]) {
      audio.addEventListener(ev, () => this.draw());
    }
    audio.addEventListener("play", () => this.animate());
    this.bindPointer();
    this.bindKeys();
  }

  clear() {
    this.peaks = null;
    this.sections = [];
    this.duration_s = 0;
    this.markers.replaceChildren();
    this.draw();
  }

  setPeaks(peaks, duration_s) {
    this.peaks = peaks;
    if (duration_s) this.duration_s = duration_s;
    this.canvas.setAttribute("aria-valuemax", String(Math.round(this.duration_s)));
    this.renderMarkers();
    this.draw();
  }

  setSections(sections, duration_s) {
    this.sections = (sections || []).filter((s) => Number.isFinite(Number(s.start_s)));
    if (duration_s && !this.duration_s) this.duration_s = duration_s;
    this.renderMarkers();
    this.draw();
  }

  get duration() {
    const d = this.audio.duration;
    return Number.isFinite(d) && d > 0 ? d : this.duration_s;
  }

  /** Labelled, focusable buttons over the canvas, one per section start. */
  renderMarkers() {
    const duration = this.duration;
    this.markers.replaceChildren();
    if (!duration) return;
    this.sections.forEach((section, i) => {
      const start = Number(section.start_s);
      const b = document.createElement("button");
      b.type = "button";
      b.className = `section-marker kind-${section.kind || "section"}`;
      const end = Number(section.end_s ?? this.sections[i + 1]?.start_s ?? duration);
      b.style.left = `${(100 * start) / duration}%`;
      b.style.maxWidth = `min(96px, max(0px, calc(${(100 * (end - start)) / duration}% - 6px)))`;  // stay in the band
      b.dataset.start = String(start);
      b.dataset.index = String(i);
      const label = sectionLabel(section);
      b.textContent = label;
      b.title = `${label} — ${formatTime(start)}`;
      b.setAttribute("aria-label", `Jump to ${label} at ${formatTime(start)}`);
      b.addEventListener("click", (e) => { e.stopPropagation(); this.onSeek(start); });
      this.markers.append(b);
    });
  }

  animate() {
    cancelAnimationFrame(this.frame);
    const tick = () => {
      this.draw();
      if (!this.audio.paused) this.frame = requestAnimationFrame(tick);
    };
    this.frame = requestAnimationFrame(tick);
  }

  palette() {
    if (!this.colors) {
      const el = this.canvas;
      this.colors = {
        wave: cssVar(el, "--wave", "#9aa3b5"),
        played: cssVar(el, "--wave-played", "#6d5dfc"),
        bandA: cssVar(el, "--band-a", "rgba(127,127,127,0.06)"),
        bandB: cssVar(el, "--band-b", "rgba(127,127,127,0.12)"),
        bandHot: cssVar(el, "--band-hot", "rgba(109,93,252,0.12)"),
        marker: cssVar(el, "--marker", "rgba(127,127,127,0.6)"),
        playhead: cssVar(el, "--playhead", "#ff4d6d"),
        hover: cssVar(el, "--wave-hover", "rgba(127,127,127,0.5)"),
        axis: cssVar(el, "--axis", "rgba(127,127,127,0.25)"),
      };
    }
    return this.colors;
  }

  draw() {
    const canvas = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const cssW = canvas.clientWidth, cssH = canvas.clientHeight;
    if (!cssW || !cssH) return;
    const w = Math.round(cssW * dpr), h = Math.round(cssH * dpr);
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    const ctx = canvas.getContext("2d");
    const c = this.palette();
    ctx.clearRect(0, 0, w, h);
    const duration = this.duration;
    const now = this.audio.currentTime || 0;
    const top = 22 * dpr;  // room for the section labels
    const mid = top + (h - top) / 2;
    const amp = (h - top) / 2 - 2 * dpr;

    // section bands and their start lines
    if (duration) {
      this.sections.forEach((s, i) => {
        const x0 = (Number(s.start_s) / duration) * w;
        const end = Number(s.end_s ?? this.sections[i + 1]?.start_s ?? duration);
        const x1 = (end / duration) * w;
        const hot = ["chorus", "drop", "post_chorus", "solo"].includes(s.kind);
        ctx.fillStyle = hot ? c.bandHot : i % 2 ? c.bandB : c.bandA;
        ctx.fillRect(x0, 0, x1 - x0, h);
        ctx.fillStyle = c.marker;
        ctx.fillRect(Math.round(x0), 0, Math.max(1, dpr), h);
      });
    }

    ctx.fillStyle = c.axis;
    ctx.fillRect(0, Math.round(mid), w, Math.max(1, dpr));

    if (this.peaks) {
      const count = this.peaks.length / 2;
      const playedX = duration ? (now / duration) * w : 0;
      const bar = Math.max(1, Math.round(2 * dpr));
      const step = bar + Math.max(1, Math.round(dpr));
      for (let x = 0; x < w; x += step) {
        const b0 = Math.floor((x / w) * count);
        const b1 = Math.max(b0 + 1, Math.floor(((x + step) / w) * count));
        let lo = 0, hi = 0;
        for (let b = b0; b < b1 && b < count; b++) {
          if (this.peaks[2 * b] < lo) lo = this.peaks[2 * b];
          if (this.peaks[2 * b + 1] > hi) hi = this.peaks[2 * b + 1];
        }
        const y0 = mid - Math.max(hi, 0.004) * amp;
        const y1 = mid - Math.min(lo, -0.004) * amp;
        ctx.fillStyle = x + bar <= playedX ? c.played : c.wave;
        ctx.fillRect(x, y0, bar, y1 - y0);
      }
    }

    if (duration && this.hoverX !== null) {
      ctx.fillStyle = c.hover;
      ctx.fillRect(Math.round(this.hoverX * dpr), top, Math.max(1, dpr), h - top);
    }
    if (duration) {
      const x = Math.round((now / duration) * w);
      ctx.fillStyle = c.playhead;
      ctx.fillRect(x - dpr, 0, 2 * dpr, h);
      this.canvas.setAttribute("aria-valuenow", String(Math.round(now)));
      this.canvas.setAttribute("aria-valuetext", `${formatTime(now)} of ${formatTime(duration)}`);
    }
  }

  timeAt(clientX) {
    const rect = this.canvas.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
    return f * this.duration;
  }

  bindPointer() {
    const canvas = this.canvas;
    let dragging = false;
    canvas.addEventListener("pointerdown", (e) => {
      if (!this.duration) return;
      dragging = true;
      canvas.setPointerCapture(e.pointerId);
      this.onSeek(this.timeAt(e.clientX));
    });
    canvas.addEventListener("pointermove", (e) => {
      const rect = canvas.getBoundingClientRect();
      this.hoverX = e.clientX - rect.left;
      if (this.duration) {
        this.hover.hidden = false;
        this.hover.textContent = formatTime(this.timeAt(e.clientX));
        this.hover.style.left = `${this.hoverX}px`;
      }
      if (dragging) this.onSeek(this.timeAt(e.clientX));
      this.draw();
    });
    const stop = () => { dragging = false; };
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("pointerleave", () => {
      this.hoverX = null;
      this.hover.hidden = true;
      this.draw();
    });
  }

  bindKeys() {
    this.canvas.addEventListener("keydown", (e) => {
      const d = this.duration;
      if (!d) return;
      const t = this.audio.currentTime || 0;
      const starts = this.sections.map((s) => Number(s.start_s));
      let to = null;
      if (e.key === "ArrowRight") to = t + (e.shiftKey ? 15 : 5);
      else if (e.key === "ArrowLeft") to = t - (e.shiftKey ? 15 : 5);
      else if (e.key === "Home") to = 0;
      else if (e.key === "End") to = d - 0.05;
      else if (e.key === "PageDown") to = starts.find((s) => s > t + 0.5) ?? d - 0.05;
      else if (e.key === "PageUp") to = [...starts].reverse().find((s) => s < t - 1) ?? 0;
      else if (e.key === " " || e.key === "Enter") {
        e.preventDefault();
        if (this.audio.paused) this.audio.play().catch(() => {}); else this.audio.pause();
        return;
      }
      if (to === null) return;
      e.preventDefault();
      this.onSeek(Math.min(Math.max(0, to), d));
    });
  }
}
