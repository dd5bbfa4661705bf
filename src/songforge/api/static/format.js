// Small formatting helpers shared by the page's modules.

export function formatTime(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) seconds = 0;
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? h + ":" : ""}${mm}:${String(r).padStart(2, "0")}`;
}

const SECTION_NAMES = {
  intro: "Intro", verse: "Verse", pre_chorus: "Pre-chorus", chorus: "Chorus",
  post_chorus: "Post-chorus", bridge: "Bridge", breakdown: "Breakdown", build: "Build",
  drop: "Drop", solo: "Solo", interlude: "Interlude", outro: "Outro",
};

/** "Pre-chorus 2" from {kind: "pre_chorus", name: "pre-chorus 2"}; a custom name is kept. */
export function sectionLabel(section) {
  const name = String(section.name || "").trim();
  const base = SECTION_NAMES[section.kind];
  if (!base) return name ? titleCase(name) : "Section";
  const n = /(\d+)$/.exec(name);
  const plain = name.replace(/[\s_-]*\d+$/, "").replace(/[\s_-]+/g, "_").toLowerCase();
  if (name && plain !== section.kind && !SECTION_NAMES[plain]) return name;  // a custom name
  return n ? `${base} ${n[1]}` : base;
}

export function plural(count, word) {
  return `${count} ${word}${Number(count) === 1 ? "" : "s"}`;
}

export function titleCase(text) {
  return String(text).replace(/[_-]+/g, " ").replace(/\b\w/g, (c) => c.toUpperCase());
}

const STAGES = {
  queued: "Waiting in the queue",
  understand: "Reading the prompt",
  plan: "Planning the song",
  compose: "Composing",
  arrange: "Arranging",
  render: "Playing the instruments",
  mix: "Mixing",
  master: "Mastering",
  encode: "Encoding",
  store: "Saving",
  done: "Done",
};

/** "render:bass" → "Playing the instruments · bass". */
export function stageLabel(stage, status) {
  if (status === "succeeded") return "Ready";
  if (status === "failed") return "Failed";
  if (status === "cancelled") return "Cancelled";
  if (!stage) return status === "queued" ? STAGES.queued : "Starting";
  const [head, detail] = String(stage).split(":", 2);
  const label = STAGES[head] || titleCase(head);
  return detail ? `${label} · ${detail.replace(/_/g, " ")}` : label;
}

export const STATUS_LABELS = {
  queued: "Queued", running: "Making", succeeded: "Ready", failed: "Failed", cancelled: "Cancelled",
};

export function slug(text, max = 40) {
  const s = String(text || "song").toLowerCase().normalize("NFKD").replace(/[^\w\s-]/g, "")
    .trim().replace(/[\s_-]+/g, "-").slice(0, max).replace(/-+$/, "");
  return s || "song";
}

/** "just now", "5 min ago"… from an ISO string or epoch seconds (or milliseconds). */
export function relativeTime(when) {
  const t = typeof when === "number" ? (when < 1e12 ? when * 1000 : when) : Date.parse(when);
  if (!Number.isFinite(t)) return "";
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString();
}

export function formatDuration(seconds) {
  return Number.isFinite(Number(seconds)) ? formatTime(Number(seconds)) : "";
}
