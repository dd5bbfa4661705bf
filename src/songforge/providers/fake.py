"""An in-package fake provider: clips in milliseconds, failures, latency and prices on demand.

Its clips are synthetic music — a pad on the key's tonic chord, a bass, a kick on every beat and
hats between — at the requested tempo and key, starting on a downbeat, so clips of one song
stitch like a real provider's. ``music="jumpy"`` gives every clip another key and timbre
instead (seams that cannot be hidden). Failures follow a script, one item per call::

    FakeProvider(failures=[503, 503])        # two 503s, then clips
    FakeProvider(failures=["refuse"])        # moderation refuses the first call
    FakeProvider(fail_always=500)            # never works

Settings build it from ``SONGFORGE_FAKE_PROVIDER``, e.g. ``max_clip_s=30,price_usd=0.02,
price_kind=per_request,fail=503x2,latency_s=0.1,music=steady,name=fake``."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import numpy as np
from pydantic import SecretStr

from songforge.errors import ContentRefused, InvalidRequest, ProviderError, ProviderUnavailable
from songforge.progress import Progress, ProgressCallback
from songforge.providers.base import (
    Capabilities,
    Clip,
    ClipRequest,
    Health,
    PriceKind,
    PriceModel,
)
from songforge.settings import Settings
from songforge.theory import Key

Failure = int | str | BaseException | None  # an HTTP status, "refuse"/"timeout", an error, None
DEFAULT_KEY = "A minor"
DEFAULT_TEMPO_BPM = 120.0
BEATS_PER_BAR = 4
_TABLE_BITS = 12
_TABLE = 1 << _TABLE_BITS


class FakeProvider:
    """A configurable provider for tests and demos (see the module docstring)."""

    def __init__(
        self,
        name: str = "fake",
        *,
        max_clip_s: float | None = 30.0,
        continuation: bool = True,
        price: PriceModel | None = None,
        sample_rate_hz: int = 44100,
        stereo: bool = True,
        failures: Iterable[Failure] = (),
        fail_always: Failure = None,
        latency_s: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        music: str = "steady",
        is_configured: bool = True,
        healthy: bool = True,
        token: SecretStr | None = None,
        local: bool = True,
        model: str = "fake-groove-1",
    ) -> None:
        if music not in ("steady", "jumpy", "silence"):
            raise InvalidRequest(
                "fake_provider", f"music must be steady, jumpy or silence: {music}"
            )
        self.name = name
        price = price or PriceModel()
        self.capabilities = Capabilities(
            max_clip_s=max_clip_s,
            continuation=continuation,
            stereo=stereo,
            sample_rate_hz=sample_rate_hz,
            local=local and price.kind is PriceKind.FREE,
            price=price,
        )
        self.failures = list(failures)
        self.fail_always = fail_always
        self.latency_s = latency_s
        self.sleep = sleep
        self.music = music
        self.is_configured = is_configured
        self.healthy = healthy
        self.token = token
        self.model = model
        self.calls: list[ClipRequest] = []  # every request received, in order
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> FakeProvider:
        """Built from ``settings.fake_provider`` ('key=value,...'; see the module docstring)."""
        options: dict[str, Any] = {}
        failures: list[Failure] = []
        price_kind, price_usd = PriceKind.FREE, 0.0
        for item in filter(None, (i.strip() for i in settings.fake_provider.split(","))):
            key, _, value = item.partition("=")
            try:
                if key in ("max_clip_s", "latency_s"):
                    options[key] = None if value in ("", "none") else float(value)
                elif key == "sample_rate_hz":
                    options[key] = int(value)
                elif key in ("continuation", "stereo", "healthy", "is_configured", "local"):
                    options[key] = value.lower() in ("1", "true", "yes", "on")
                elif key in ("music", "name", "model"):
                    options[key] = value
                elif key == "price_usd":
                    price_usd = float(value)
                    if price_kind is PriceKind.FREE:
                        price_kind = PriceKind.PER_REQUEST
                elif key == "price_kind":
                    price_kind = PriceKind(value)
                elif key == "fail":  # "503x2" or "refuse"
                    what, _, times = value.partition("x")
                    failure: Failure = int(what) if what.isdigit() else what
                    failures.extend([failure] * int(times or 1))
                elif key == "fail_always":
                    options[key] = int(value) if value.isdigit() else value
                else:
                    raise ValueError(f"unknown option {key!r}")
            except ValueError as exc:
                raise InvalidRequest("fake_provider", f"{item!r}: {exc}") from None
        return cls(
            **options,
            failures=failures,
            price=PriceModel(kind=price_kind, usd=price_usd),
            token=settings.fake_provider_token,
        )

    def configured(self) -> bool:
        return self.is_configured

    def health(self) -> Health:
        return Health(self.healthy, "fake provider" if self.healthy else "fake outage")

    def generate_clip(self, request: ClipRequest, progress: ProgressCallback) -> Clip:
        with self._lock:
            self.calls.append(request)
            failure = self.failures.pop(0) if self.failures else self.fail_always
        progress(Progress(f"{self.name}:clip", 0, 1))
        if self.latency_s:
            self.sleep(self.latency_s)
        if failure is not None:
            raise self._error(failure)
        limit = self.capabilities.max_clip_s
        if limit is not None and request.duration_s > limit + 1e-6:
            raise ProviderError(
                f"{self.name}: duration {request.duration_s:g} s is over the {limit:g} s limit",
                provider=self.name,
                status=422,
            )
        audio = self._music(request)
        cost = self.capabilities.price.estimate_usd(request.duration_s)
        progress(Progress(f"{self.name}:clip", 1, 1))
        return Clip(
            audio=audio,
            sample_rate_hz=self.capabilities.sample_rate_hz,
            provider=self.name,
            cost_usd=cost,
            info={"model": self.model, "clip_id": f"{self.name}-{len(self.calls)}"},
        )

    def _error(self, failure: Failure) -> BaseException:
        if isinstance(failure, BaseException):
            return failure
        # a careless upstream that echoes the credentials it was sent
        echo = f" (sent key {self.token.get_secret_value()})" if self.token is not None else ""
        if failure == "refuse":
            return ContentRefused(
                f"{self.name}: prompt refused by moderation{echo}", provider=self.name, status=403
            )
        if failure == "timeout":
            return ProviderError(f"{self.name}: read timed out", provider=self.name, retryable=True)
        if failure == "unavailable":
            return ProviderUnavailable(f"{self.name}: not configured{echo}", provider=self.name)
        if isinstance(failure, int):
            retryable = failure == 429 or failure >= 500
            return ProviderError(
                f"{self.name}: upstream answered {failure}{echo}",
                provider=self.name,
                retryable=retryable,
                status=failure,
                retry_after_s=1.0 if failure == 429 else None,
            )
        return ProviderError(f"{self.name}: {failure}{echo}", provider=self.name)

    def _music(self, request: ClipRequest) -> np.ndarray:
        rate = self.capabilities.sample_rate_hz
        n = round(request.duration_s * rate)
        if self.music == "silence":
            return np.zeros((2 if self.capabilities.stereo else 1, n), dtype=np.float32)
        key = Key.parse(request.key or DEFAULT_KEY)
        tempo = request.tempo_bpm or DEFAULT_TEMPO_BPM
        seed = request.seed or 0
        timbre = 0
        if self.music == "jumpy":  # every call another key and sound
            index = len(self.calls)
            key = replace(key, tonic_pc=(key.tonic_pc + 5 * index) % 12)
            timbre = index % 3
            seed += index
        mono = groove(n, rate, tempo, key, seed=seed, timbre=timbre)
        if not self.capabilities.stereo:
            return mono[np.newaxis, :]
        right = np.concatenate([np.zeros(7, dtype=np.float32), mono[:-7]])[:n]
        return np.stack([mono, right]).astype(np.float32)


def groove(
    n: int, sample_rate_hz: int, tempo_bpm: float, key: Key, *, seed: int = 0, timbre: int = 0
) -> np.ndarray:
    """``n`` samples of a steady groove starting on a downbeat (float32 mono, peak < 1).

    Every sound is a function of time since the start, so any two renders agree sample for
    sample where they overlap in musical time."""
    t = np.arange(n, dtype=np.float64) / sample_rate_hz
    beat_s = 60.0 / tempo_bpm
    beat_phase = np.mod(t, beat_s).astype(np.float32)
    beat_index = np.floor(t / beat_s).astype(np.int64)
    third = 3 if key.mode.is_minor else 4
    root_hz = 110.0 * 2.0 ** (((key.tonic_pc - 9) % 12) / 12.0)

    samples = np.arange(n, dtype=np.uint64)
    table = np.sin(np.linspace(0.0, 2 * np.pi, _TABLE, endpoint=False)).astype(np.float32)

    def sine(hz: float, phase: np.ndarray | None = None) -> np.ndarray:
        """A wavetable sine from a 32-bit phase accumulator (exact phase, cheap)."""
        if phase is None:
            step = np.uint64(round(hz / sample_rate_hz * 2**32))
            index = ((samples * step) & np.uint64(0xFFFFFFFF)) >> np.uint64(32 - _TABLE_BITS)
        else:
            index = (np.mod(phase, 1.0) * _TABLE).astype(np.int64) % _TABLE
        return table[index]

    pad = np.zeros(n, dtype=np.float32)
    for semitones, level in ((0, 0.5), (third, 0.35), (7, 0.35), (12, 0.25)):
        hz = 2 * root_hz * 2.0 ** (semitones / 12.0)
        if timbre == 1:  # buzzy
            pad += np.float32(level * 0.3) * np.sign(sine(hz))
        else:
            pad += np.float32(level) * (sine(hz) + np.float32(0.3) * sine(2.003 * hz))
    swell = 0.8 + 0.2 * sine(1.0 / (beat_s * BEATS_PER_BAR))
    bass = sine(root_hz / 2) * np.exp(-beat_phase / np.float32(0.6 * beat_s))
    kick_hz = 50.0 + 70.0 * np.exp(-beat_phase.astype(np.float64) / 0.03)
    kick = sine(0.0, np.cumsum(kick_hz) / sample_rate_hz) * np.exp(-beat_phase / np.float32(0.12))
    off_phase = np.mod(t - beat_s / 2, beat_s).astype(np.float32)
    hiss = np.random.default_rng(zlib.crc32(f"hats:{seed}".encode())).standard_normal(4096)
    noise = hiss.astype(np.float32)[(np.arange(n) + beat_index * 997) % hiss.size]
    hats = np.diff(noise, prepend=np.float32(0.0)) * np.exp(-off_phase / np.float32(0.025))
    hats *= t >= beat_s / 2
    kick_level = 0.0 if timbre == 2 else 0.5
    mix = 0.18 * pad * swell + 0.3 * bass + np.float32(kick_level) * kick + 0.08 * hats
    return np.tanh(0.6 * mix).astype(np.float32)


__all__ = ["FakeProvider", "groove"]
