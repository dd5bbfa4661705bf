// songforge's web page: the form that makes a song, the job list, and the player.

import { api, apiKey, ApiError, TERMINAL } from "./api.js";
import { JobList, jobPrompt, jobProgress } from "./jobs.js";
import { Player } from "./player.js";

const $ = (id) => document.getElementById(id);
const form = $("song-form");
const FIELDS = ["prompt", "genre", "mood", "bpm", "key", "time_signature", "duration", "seed", "format", "sample_rate"];
const FIELD_ALIASES = { tempo_bpm: "bpm", tempo: "bpm", duration_s: "duration", style: "genre" };
const TONICS = ["C", "C#", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
const MAX_SEED = 2 ** 32 - 1;

let styles = [];

// ---- announcements and errors ---------------------------------------------------------------

function announce(text) {
  const el = $("announcer");
  el.textContent = "";
  requestAnimationFrame(() => { el.textContent = text; });
}

function showBanner(text, kind = "error") {
  const banner = $("banner");
  banner.textContent = text;
  banner.dataset.kind = kind;
  banner.hidden = !text;
}

/** Shows an API error where it belongs: next to its field, the API key, or in the banner. */
function showError(err) {
  if (err.status === 401 || err.status === 403) {
    const auth = $("auth");
    auth.open = true;
    $("api-key-error").textContent = apiKey.get()
      ? `The server refused this key: ${err.message}`
      : "This server needs an API key. Paste it here.";
    $("auth-summary").classList.add("attention");
    $("api-key").focus();
    return;
  }
  if (err.status === 0 && err.code === "network") setServerStatus(false);
  showBanner(err.message || "Something went wrong.");
}

function setServerStatus(ok) {
  const el = $("server-status");
  el.textContent = ok ? "Server ready" : "Server unreachable";
  el.dataset.ok = String(ok);
}

function clearFieldErrors() {
  for (const name of FIELDS) {
    const input = $(name);
    input.removeAttribute("aria-invalid");
    $(`${name}-error`).textContent = "";
  }
  $("form-error").textContent = "";
}

function fieldName(field) {
  if (!field) return null;
  const parts = String(field).split(/[.[\]/]+/).filter((p) => p && p !== "body");
  const name = parts[0];
  return FIELD_ALIASES[name] || name;
}

function showFieldError(field, message) {
  const name = fieldName(field);
  if (name && FIELDS.includes(name)) {
    const input = $(name);
    input.setAttribute("aria-invalid", "true");
    $(`${name}-error`).textContent = message;
    if (name === "mood" || name === "time_signature" || name === "format" || name === "sample_rate") $("more-options").open = true;
    input.focus();
  } else {
    $("form-error").textContent = field ? `${field}: ${message}` : message;
  }
}

// ---- the form --------------------------------------------------------------------------------

function readForm() {
  const v = (name) => $(name).value.trim();
  const body = { prompt: v("prompt") };
  if (v("genre")) body.genre = v("genre");
  if (v("mood")) body.mood = v("mood");
  if (v("bpm")) body.bpm = Number(v("bpm"));
  if (v("key")) body.key = v("key");
  if (v("time_signature")) body.time_signature = v("time_signature");
  if (v("duration")) body.duration = /^\d+(\.\d+)?$/.test(v("duration")) ? Number(v("duration")) : v("duration");
  if (v("seed")) body.seed = Number(v("seed"));
  body.format = v("format");
  body.sample_rate = Number(v("sample_rate"));
  return body;
}

/** Checks only what the browser can know for sure; the server's validation is the reference. */
function precheck(body) {
  if (!body.prompt) return ["prompt", "Describe the song you want: a genre, a mood, an idea."];
  if ($("bpm").value.trim() && !Number.isFinite(body.bpm)) return ["bpm", "Tempo must be a number of beats per minute."];
  if ($("seed").value.trim() && !(Number.isInteger(body.seed) && body.seed >= 0 && body.seed <= MAX_SEED)) {
    return ["seed", `Seed must be a whole number from 0 to ${MAX_SEED}.`];
  }
  return null;
}

function setBusy(busy) {
  const submit = $("submit");
  submit.disabled = busy;
  submit.setAttribute("aria-busy", String(busy));
  submit.querySelector(".btn-label").textContent = busy ? "Sending…" : "Create song";
}

async function submit(event) {
  event?.preventDefault();
  clearFieldErrors();
  showBanner("");
  const body = readForm();
  const problem = precheck(body);
  if (problem) { showFieldError(...problem); return; }
  setBusy(true);
  try {
    const job = await api.create(body);
    setServerStatus(true);
    const merged = jobs.upsert({ request: body, ...job });
    select(merged.id);
    announce("Song queued. Progress is shown in the player.");
    if (matchMedia("(max-width: 979px)").matches) $("player").scrollIntoView({ behavior: "smooth", block: "start" });
  } catch (err) {
    if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 403) {
      showFieldError(err.field, err.message);
    } else {
      showError(err);
    }
  } finally {
    setBusy(false);
  }
}

function fillForm(request, { newSeed = false } = {}) {
  if (!request) return;
  for (const name of FIELDS) {
    const value = request[name];
    const input = $(name);
    if (name === "format" || name === "sample_rate") { if (value) input.value = String(value); continue; }
    input.value = value === null || value === undefined ? "" : String(value);
  }
  if (request.genre && ![...$("genre").options].some((o) => o.value === request.genre)) $("genre").value = "";
  if (newSeed) $("seed").value = String(randomSeed());
  updateGenreHint();
  updateCount();
  form.scrollIntoView({ behavior: "smooth", block: "start" });
  $("prompt").focus();
}

function randomSeed() {
  const buf = new Uint32Array(1);
  crypto.getRandomValues(buf);
  return buf[0];
}

function updateCount() {
  $("prompt-count").textContent = `${$("prompt").value.length} / 1000`;
}

function styleTempo(style) {
  const range = style.tempo_bpm ?? style.tempo_range ?? style.tempo ?? null;
  if (Array.isArray(range) && range.length === 2) return range;
  if (range && typeof range === "object" && "min" in range) return [range.min, range.max];
  if (style.tempo_min_bpm !== undefined) return [style.tempo_min_bpm, style.tempo_max_bpm];
  return null;
}

function updateGenreHint() {
  const style = styles.find((s) => s.id === $("genre").value);
  const tempo = style ? styleTempo(style) : null;
  $("genre-hint").textContent = style ? style.description || style.name : "The style is chosen from your prompt.";
  $("bpm").placeholder = tempo ? `auto (${tempo[0]}–${tempo[1]})` : "auto";
  $("bpm-hint").textContent = tempo ? `${style.name}: ${tempo[0]}–${tempo[1]} BPM.` : "40–240.";
}

async function loadStyles() {
  try {
    const body = await api.styles();
    styles = Array.isArray(body) ? body : body?.styles ?? body?.items ?? [];
    setServerStatus(true);
  } catch (err) {
    showError(err);
    return;
  }
  const select = $("genre");
  const chosen = select.value;
  select.replaceChildren(select.options[0]);
  for (const style of [...styles].sort((a, b) => String(a.name).localeCompare(String(b.name)))) {
    const option = document.createElement("option");
    option.value = style.id;
    const tempo = styleTempo(style);
    option.textContent = tempo ? `${style.name}  ·  ${tempo[0]}–${tempo[1]} BPM` : style.name;
    select.append(option);
  }
  select.value = chosen;
  updateGenreHint();
}

function fillKeyPresets() {
  const list = $("key-presets");
  for (const mode of ["major", "minor"]) {
    for (const tonic of TONICS) {
      const option = document.createElement("option");
      option.value = `${tonic} ${mode}`;
      list.append(option);
    }
  }
}

// ---- auth ------------------------------------------------------------------------------------

function renderAuth() {
  const key = apiKey.get();
  $("auth-label").textContent = key ? "API key set" : "API key";
  $("auth-summary").classList.toggle("has-key", Boolean(key));
  $("api-key").value = key;
}

function bindAuth() {
  $("auth-form").addEventListener("submit", (e) => {
    e.preventDefault();
    apiKey.set($("api-key").value.trim());
    $("api-key-error").textContent = "";
    $("auth-summary").classList.remove("attention");
    $("auth").open = false;
    renderAuth();
    showBanner("");
    refresh();
  });
  $("api-key-clear").addEventListener("click", () => {
    apiKey.set("");
    renderAuth();
    $("api-key").focus();
  });
  $("auth").addEventListener("keydown", (e) => {
    if (e.key === "Escape") { $("auth").open = false; $("auth-summary").focus(); }
  });
}

// ---- jobs and player -------------------------------------------------------------------------

const player = new Player({ announce, onError: showError });
const jobs = new JobList({
  list: $("job-list"),
  template: $("job-template"),
  empty: $("jobs-empty"),
  more: $("jobs-more"),
  onSelect: (id) => select(id),
  onUpdate: (job, before) => {
    if (!job) {  // deleted
      if (before && jobs.selected === before.id) select(null);
      return;
    }
    if (job.id === jobs.selected) {
      player.show(job);
      updateTitle(job);
    }
    if (before && !TERMINAL.has(before.status) && TERMINAL.has(job.status) && job.id !== jobs.selected) {
      announce(`${job.status === "succeeded" ? "Ready" : job.status}: ${jobPrompt(job)}`);
    }
  },
  onError: showError,
});

function updateTitle(job) {
  const running = job && !TERMINAL.has(job.status);
  document.title = running ? `(${Math.round(jobProgress(job))}%) songforge` : "songforge — prompt to finished song";
}

async function select(id) {
  jobs.select(id);
  history.replaceState(null, "", id ? `#song=${encodeURIComponent(id)}` : location.pathname + location.search);
  let job = id ? jobs.get(id) : null;
  if (id && !job) {
    try { job = jobs.upsert(await api.get(id)); jobs.select(id); } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) showError(err);
      job = null;
    }
  }
  player.show(job);
  updateTitle(job);
}

async function refresh() {
  try {
    await jobs.load();
    setServerStatus(true);
  } catch (err) {
    showError(err);
  }
  if (!styles.length) loadStyles();
}

// ---- start -----------------------------------------------------------------------------------

function start() {
  renderAuth();
  bindAuth();
  fillKeyPresets();
  form.addEventListener("submit", submit);
  $("prompt").addEventListener("input", updateCount);
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) submit(e);
  });
  for (const name of FIELDS) {
    $(name).addEventListener("input", () => {
      $(name).removeAttribute("aria-invalid");
      $(`${name}-error`).textContent = "";
    });
  }
  $("genre").addEventListener("change", updateGenreHint);
  $("seed-roll").addEventListener("click", () => { $("seed").value = String(randomSeed()); $("seed-error").textContent = ""; });
  $("jobs-refresh").addEventListener("click", refresh);
  $("player-cancel").addEventListener("click", () => { if (jobs.selected) jobs.act(jobs.selected); });
  $("reuse").addEventListener("click", () => fillForm(player.request()));
  $("variation").addEventListener("click", () => fillForm(player.request(), { newSeed: true }));
  updateCount();
  loadStyles();
  const wanted = /#song=([^&]+)/.exec(location.hash);
  jobs.load().then(() => {
    if (wanted) select(decodeURIComponent(wanted[1]));
  }, showError);
  addEventListener("hashchange", () => {
    const m = /#song=([^&]+)/.exec(location.hash);
    const id = m ? decodeURIComponent(m[1]) : null;
    if (id !== jobs.selected) select(id);
  });
  // Songs submitted elsewhere (the CLI, another tab) show up without a reload.
  setInterval(() => { if (document.visibilityState === "visible") jobs.load().catch(() => {}); }, 20000);
  document.documentElement.dataset.ready = "true";
}

start();
