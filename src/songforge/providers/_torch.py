"""Shared plumbing for the self-hosted neural providers: lazy imports of the `neural` extra,
device and dtype choice, seeding, a once-per-process model cache, resampling and the checks
every generated clip passes.

Nothing here imports torch at module import time, so the registry can import every provider
module on a machine without the extra; torch objects are typed ``Any`` for the same reason."""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy.signal import resample_poly

from songforge.errors import ProviderError, ProviderUnavailable, SongforgeError
from songforge.progress import Progress, ProgressCallback
from songforge.providers.base import Capabilities, Health

INSTALL_HINT = "pip install 'songforge[neural]'"
SILENCE_PEAK = 10 ** (-90 / 20)  # below one 16-bit step: nothing a listener could hear
MAX_SEED = 2**31 - 1
_GLOBAL_RNG = threading.Lock()  # torch's global generator is one per process

DevicePreference = Literal["auto", "cpu", "cuda"]
DtypePreference = Literal["auto", "float32", "float16", "bfloat16"]


def require(module: str, provider: str) -> Any:
    """Import an optional dependency of the `neural` extra, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = module.split(".")[0]
        raise ProviderUnavailable(
            f"{provider} needs {package}, which is not installed: {INSTALL_HINT}",
            provider=provider,
        ) from exc


def missing_packages(packages: tuple[str, ...]) -> list[str]:
    """Which of ``packages`` cannot be imported; checks without importing them."""

    def absent(name: str) -> bool:
        try:
            return importlib.util.find_spec(name) is None
        except (ImportError, ValueError):  # e.g. a module blocked in sys.modules
            return True

    return [name for name in packages if absent(name)]


def select_device(preference: DevicePreference, provider: str) -> str:
    """CUDA when present (or asked for), else the CPU."""
    if preference == "cpu":
        return "cpu"
    torch = require("torch", provider)
    if torch.cuda.is_available():
        return "cuda"
    if preference == "cuda":
        raise ProviderUnavailable(
            f"{provider} is set to run on CUDA but torch sees no CUDA device", provider=provider
        )
    return "cpu"


def select_dtype(preference: DtypePreference, device: str, provider: str) -> Any:
    """The torch dtype for weights: half precision on CUDA, float32 on the CPU, unless set."""
    torch = require("torch", provider)
    if preference == "auto":
        return torch.float16 if device == "cuda" else torch.float32
    return getattr(torch, preference)


def resolve_seed(seed: int | None) -> int:
    """The request's seed, or a fresh one (reported in Clip.info so the clip can be remade)."""
    return secrets.randbelow(MAX_SEED) if seed is None else seed % (MAX_SEED + 1)


def cpu_generator(seed: int, provider: str) -> Any:
    """A seeded CPU ``torch.Generator``: diffusers draws its noise on the CPU and moves it, so
    a seed gives the same starting noise on every device."""
    torch = require("torch", provider)
    return torch.Generator(device="cpu").manual_seed(seed)


@contextmanager
def seeded(seed: int, device: str, provider: str) -> Iterator[None]:
    """Seed torch's global generators for the block and restore them after it, for libraries
    (transformers' sampling) that take no generator argument."""
    torch = require("torch", provider)
    devices = [torch.cuda.current_device()] if device == "cuda" else []
    with _GLOBAL_RNG, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def resample(audio: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """Polyphase resampling of float32 (channels, n) audio along its last axis."""
    if from_hz == to_hz:
        return np.asarray(audio, dtype=np.float32)
    common = math.gcd(int(from_hz), int(to_hz))
    out = resample_poly(audio, int(to_hz) // common, int(from_hz) // common, axis=-1)
    return np.asarray(out, dtype=np.float32)


def fit_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    """Downmix to mono by averaging, or spread mono over ``channels``."""
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    if audio.shape[0] == channels:
        return audio
    if channels == 1:
        return audio.mean(axis=0, keepdims=True)
    mono = audio.mean(axis=0, keepdims=True)
    return np.repeat(mono, channels, axis=0)


def finish_audio(audio: Any, provider: str) -> np.ndarray:
    """Turn a model's output into our convention — finite float32 (channels, n) with peaks at
    most 1 (scaled down, never clipped) — and refuse silence and NaNs as retryable failures."""
    if hasattr(audio, "detach"):
        audio = audio.detach().float().cpu().numpy()
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, :]
    if audio.ndim != 2 or audio.shape[1] == 0:
        raise ProviderError(
            f"{provider} returned audio of shape {audio.shape}", provider=provider, retryable=True
        )
    if not np.all(np.isfinite(audio)):
        raise ProviderError(
            f"{provider} returned NaN or infinite samples", provider=provider, retryable=True
        )
    peak = float(np.max(np.abs(audio)))
    if peak < SILENCE_PEAK:
        raise ProviderError(f"{provider} returned silence", provider=provider, retryable=True)
    if peak > 1.0:
        audio = audio / peak
    return np.ascontiguousarray(audio, dtype=np.float32)


def fit_length(audio: np.ndarray, n_samples: int) -> np.ndarray:
    """Trim or zero-pad (channels, n) audio to exactly ``n_samples``."""
    if audio.shape[-1] >= n_samples:
        return audio[..., :n_samples]
    pad = np.zeros((audio.shape[0], n_samples - audio.shape[-1]), dtype=audio.dtype)
    return np.concatenate([audio, pad], axis=-1)


def check_duration(duration_s: float, max_clip_s: float, provider: str) -> None:
    """Refuse a clip the model cannot make in one call (the planner should have split it)."""
    if not 0 < duration_s <= max_clip_s + 1e-9:
        raise ProviderError(
            f"{provider} makes clips of at most {max_clip_s:g} s; {duration_s:g} s was asked for",
            provider=provider,
        )


def is_local(model: str) -> bool:
    """A model setting that names a path rather than a Hugging Face model id."""
    path = Path(model).expanduser()
    return path.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1


def local_json(model: str, filename: str) -> dict[str, Any] | None:
    """A config file of ``model`` if it is on this machine (a directory, or a model id already
    in the Hugging Face cache), without touching the network; None otherwise."""
    path: Path | None = Path(model).expanduser() / filename
    if not is_local(model):
        path = None
        if importlib.util.find_spec("huggingface_hub") is not None:
            hub = importlib.import_module("huggingface_hub")
            try:
                cached = hub.try_to_load_from_cache(model, filename)
            except Exception:  # an id the hub library refuses: treat as not cached
                cached = None
            path = Path(cached) if isinstance(cached, str) else None
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_failure(exc: Exception, provider: str, model: str) -> ProviderError:
    """Map a loading exception: a missing or unreachable model is unavailable, not retryable."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, OSError | ValueError | KeyError):
        where = "directory" if is_local(model) else "model id (downloaded on first use)"
        return ProviderUnavailable(
            f"{provider} could not load {model!r} as a {where}: {exc}", provider=provider
        )
    return ProviderError(f"{provider} failed to load {model!r}: {exc}", provider=provider)


def generation_failure(exc: Exception, provider: str) -> SongforgeError:
    """Map an exception raised while generating; our own errors (Cancelled) pass through."""
    if isinstance(exc, SongforgeError):
        return exc
    torch = importlib.import_module("torch")
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return ProviderError(f"{provider} ran out of GPU memory", provider=provider, retryable=True)
    return ProviderError(f"{provider} failed: {type(exc).__name__}: {exc}", provider=provider)


@dataclass
class Loaded:
    """A model loaded once per process; ``lock`` serialises generation on it (torch's global
    generator and the GPU are shared by every job in the process)."""

    objects: dict[str, Any]
    device: str
    dtype: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


class ModelCache:
    """Loaded models keyed by (provider, model path or id, device, dtype)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, ...], Loaded] = {}
        self._loading: dict[tuple[str, ...], threading.Lock] = {}

    def get(self, key: tuple[str, ...], load: Callable[[], Loaded]) -> Loaded:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                return entry
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:  # one load per key, even when jobs race for it
            with self._lock:
                entry = self._entries.get(key)
            if entry is None:
                entry = load()
                with self._lock:
                    self._entries[key] = entry
            return entry

    def clear(self) -> None:
        """Forget every loaded model (their memory goes once no provider holds them)."""
        with self._lock:
            self._entries.clear()
            self._loading.clear()


MODELS = ModelCache()


class StepProgress:
    """Reports ``done`` of ``total`` model steps to a progress callback, at most once a step."""

    def __init__(self, progress: ProgressCallback, stage: str, total: int) -> None:
        self.progress = progress
        self.stage = stage
        self.total = max(1, total)
        self.done = 0

    def start(self) -> None:
        self.progress(Progress(self.stage, 0, self.total))

    def step(self, done: int | None = None) -> None:
        self.done = min(self.total, self.done + 1 if done is None else done)
        self.progress(Progress(self.stage, self.done, self.total))

    def finish(self) -> None:
        if self.done < self.total:
            self.done = self.total
            self.progress(Progress(self.stage, self.total, self.total))


def hub_offline() -> bool:
    """Whether Hugging Face downloads are switched off in this environment."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(flag.strip().lower() in {"1", "true", "yes", "on"} for flag in flags)


class LocalModelProvider:
    """What the self-hosted adapters share: a model directory or Hugging Face id, loaded on
    first use into the process-wide cache, and ``configured``/``health``/``load``."""

    name: str = ""
    capabilities: Capabilities = Capabilities(local=True)
    setting: str = ""  # the environment variable that names the model, for messages
    packages: tuple[str, ...] = ("torch",)
    marker_file: str = "config.json"  # present in every saved model of this kind

    def __init__(
        self,
        model: str | None,
        *,
        device: DevicePreference = "auto",
        dtype: DtypePreference = "auto",
    ) -> None:
        self.model = model.strip() if model and model.strip() else None
        self.device_preference: DevicePreference = device
        self.dtype_preference: DtypePreference = dtype
        self._loaded: Loaded | None = None

    def configured(self) -> bool:
        return self.model is not None

    def health(self) -> Health:
        """Whether the extra is installed and the model is loaded, on disk or downloadable;
        never loads or downloads anything."""
        if self.model is None:
            return Health(False, f"{self.setting} is not set")
        missing = missing_packages(self.packages)
        if missing:
            return Health(False, f"missing {', '.join(missing)}: {INSTALL_HINT}")
        if self._loaded is not None:
            return Health(True, f"{self.model} loaded on {self._loaded.device}")
        if is_local(self.model):
            marker = Path(self.model).expanduser() / self.marker_file
            if marker.is_file():
                return Health(True, f"{self.model} found; it loads on first use")
            return Health(False, f"no {self.marker_file} in {self.model}")
        if local_json(self.model, self.marker_file) is not None:
            return Health(True, f"{self.model} is in the Hugging Face cache; it loads on first use")
        if hub_offline():
            return Health(False, f"{self.model} is not cached and Hugging Face is set offline")
        return Health(True, f"{self.model} downloads from Hugging Face on first use")

    def load(self) -> Loaded:
        """Load the model (once per process and device), e.g. to warm a worker up."""
        if self._loaded is not None:
            return self._loaded
        model = self.model
        if model is None:
            raise ProviderUnavailable(f"{self.name}: {self.setting} is not set", provider=self.name)
        for package in self.packages:
            require(package, self.name)
        device = select_device(self.device_preference, self.name)
        dtype = select_dtype(self.dtype_preference, device, self.name)

        def build() -> Loaded:
            try:
                objects = self._load_objects(model, device, dtype)
            except Exception as exc:
                raise load_failure(exc, self.name, model) from exc
            return Loaded(objects, device, dtype)

        loaded = MODELS.get((self.name, model, device, str(dtype)), build)
        self._on_loaded(loaded)
        self._loaded = loaded
        return loaded

    def _load_objects(self, model: str, device: str, dtype: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _on_loaded(self, loaded: Loaded) -> None:
        """Refine what was read from the config files before loading (capabilities)."""


def load_pipeline(class_name: str, model: str, device: str, dtype: Any, **kwargs: Any) -> Any:
    """A diffusers pipeline through its own ``from_pretrained`` — a local directory, or a model
    id that huggingface_hub downloads — moved to ``device`` with progress bars off."""
    diffusers = importlib.import_module("diffusers")
    pipeline = getattr(diffusers, class_name).from_pretrained(model, dtype=dtype, **kwargs)
    pipeline = pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def run_pipeline(
    loaded: Loaded,
    provider: str,
    steps: int,
    progress: ProgressCallback,
    *,
    step_end_callback: bool = False,
    **kwargs: Any,
) -> Any:
    """Call a loaded diffusers pipeline for ``steps`` denoising steps, reporting each one.

    Audio pipelines take the older ``callback(step, timestep, latents)``; image pipelines
    ``callback_on_step_end`` (``step_end_callback=True``). A raise from ``progress`` (a
    cancellation) stops the pipeline and passes through unchanged."""
    torch = require("torch", provider)
    report = StepProgress(progress, provider, steps)
    if step_end_callback:

        def on_step_end(pipeline: Any, step: int, timestep: Any, tensors: Any) -> Any:
            report.step(step + 1)
            return tensors

        kwargs["callback_on_step_end"] = on_step_end
    else:

        def on_step(step: int, timestep: Any, latents: Any) -> None:
            report.step(step + 1)

        kwargs.update(callback=on_step, callback_steps=1)
    report.start()
    try:
        with loaded.lock, torch.inference_mode():
            output = loaded.objects["pipeline"](num_inference_steps=steps, **kwargs)
    except Exception as exc:
        raise generation_failure(exc, provider) from exc
    report.finish()
    return output
