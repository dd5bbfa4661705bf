"""`riffusion`: Riffusion, a Stable Diffusion model fine-tuned on spectrogram images, self-hosted
through diffusers' ``StableDiffusionPipeline``; its images are turned back into sound here.

The image convention is Riffusion's own (riffusion-hobby's ``SpectrogramParams`` and
``image_util``): one pixel column per 10 ms hop at 44.1 kHz, 512 mel bands from 0 to 10 kHz
(HTK scale, unnormalised filters) with low frequencies at the bottom, and pixel darkness — the
image is inverted — equal to the band's magnitude to the power 0.25 (255 · (m / max)^0.25).
Magnitudes come back to a linear spectrogram by non-negative least squares against the mel
filters, and to audio by Griffin-Lim phase reconstruction with torch's STFT (on the model's
device) set as Riffusion's: a 100 ms Hann window zero-padded to 400 ms. Clips are mono; 512
columns make Riffusion's 5.12 s."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from songforge.progress import ProgressCallback
from songforge.providers._torch import (
    DevicePreference,
    DtypePreference,
    LocalModelProvider,
    check_duration,
    cpu_generator,
    finish_audio,
    fit_length,
    load_pipeline,
    require,
    resolve_seed,
    run_pipeline,
)
from songforge.providers.base import Capabilities, Clip, ClipRequest, PriceModel
from songforge.settings import Settings

PIXEL_MAX = 255.0
HEADROOM_DB = 1.0  # peak level of the reconstructed audio below full scale
NNLS_ITERATIONS = 30


@dataclass(frozen=True)
class SpectrogramParams:
    """How Riffusion's images map to sound (its published defaults)."""

    sample_rate_hz: int = 44100
    hop_s: float = 0.010
    window_s: float = 0.100
    fft_s: float = 0.400  # the window zero-padded to this length
    n_mels: int = 512
    min_frequency_hz: float = 0.0
    max_frequency_hz: float = 10000.0
    power_for_image: float = 0.25

    @property
    def hop_length(self) -> int:
        return round(self.hop_s * self.sample_rate_hz)

    @property
    def win_length(self) -> int:
        return round(self.window_s * self.sample_rate_hz)

    @property
    def n_fft(self) -> int:
        return round(self.fft_s * self.sample_rate_hz)


RIFFUSION = SpectrogramParams()


def spectrogram_from_image(pixels: np.ndarray, params: SpectrogramParams = RIFFUSION) -> np.ndarray:
    """Relative mel magnitudes (n_mels, frames), in 0–1, from an image (height, width) or
    (height, width, channels) of brightness 0–255; a colour image is read from its first
    channel, as Riffusion reads its mono images."""
    image = np.asarray(pixels, dtype=np.float64)
    if image.ndim == 3:
        image = image[:, :, 0]
    if image.ndim != 2 or image.shape[0] != params.n_mels:
        raise ValueError(
            f"expected a spectrogram image {params.n_mels} pixels tall, got {image.shape}"
        )
    darkness = np.clip((PIXEL_MAX - image[::-1, :]) / PIXEL_MAX, 0.0, 1.0)  # low bands first
    return np.power(darkness, 1.0 / params.power_for_image)


def audio_from_spectrogram(
    mel: np.ndarray,
    params: SpectrogramParams = RIFFUSION,
    *,
    iterations: int = 32,
    seed: int = 0,
    device: str = "cpu",
) -> np.ndarray:
    """Mono float32 audio (1, frames × hop) from mel magnitudes, peak-normalised, since the
    image holds only relative levels; an empty spectrogram gives silence."""
    linear = _linear_from_mel(np.asarray(mel, dtype=np.float64), params)
    audio = griffin_lim(linear, params, iterations=iterations, seed=seed, device=device)
    audio = fit_length(audio[None, :], mel.shape[1] * params.hop_length)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0:
        audio = audio * np.float32(10 ** (-HEADROOM_DB / 20) / peak)
    return audio.astype(np.float32)


def audio_from_image(
    pixels: np.ndarray,
    params: SpectrogramParams = RIFFUSION,
    *,
    iterations: int = 32,
    seed: int = 0,
    device: str = "cpu",
) -> np.ndarray:
    """A Riffusion spectrogram image straight to mono float32 audio (1, n)."""
    mel = spectrogram_from_image(pixels, params)
    return audio_from_spectrogram(mel, params, iterations=iterations, seed=seed, device=device)


def griffin_lim(
    magnitude: np.ndarray,
    params: SpectrogramParams = RIFFUSION,
    *,
    iterations: int = 32,
    seed: int = 0,
    momentum: float = 0.99,
    device: str = "cpu",
) -> np.ndarray:
    """Fast Griffin-Lim (with momentum, as torchaudio's, which Riffusion used) on torch's STFT:
    a signal whose STFT magnitude (bins, frames) approximates ``magnitude``, starting from
    phases drawn from ``seed``; runs on ``device``."""
    torch = require("torch", "riffusion")
    window = torch.hann_window(params.win_length, device=device)
    spectrum = torch.as_tensor(magnitude, dtype=torch.float32, device=device)
    stft = {"n_fft": params.n_fft, "hop_length": params.hop_length, "window": window}
    stft["win_length"] = params.win_length
    length = (spectrum.shape[-1] - 1) * params.hop_length
    phases = torch.rand(spectrum.shape, generator=torch.Generator().manual_seed(seed))
    angles = torch.polar(torch.ones_like(phases), 2 * math.pi * phases).to(device)
    previous = torch.zeros_like(angles)
    for _ in range(iterations):
        signal = torch.istft(spectrum * angles, length=length, **stft)
        rebuilt = torch.stft(signal, return_complex=True, pad_mode="constant", **stft)
        angles = rebuilt - previous * (momentum / (1 + momentum))
        angles = angles / (angles.abs() + 1e-16)
        previous = rebuilt
    signal = torch.istft(spectrum * angles, length=length, **stft)
    return np.asarray(signal.cpu().numpy(), dtype=np.float32)


def mel_filters(params: SpectrogramParams = RIFFUSION) -> np.ndarray:
    """Riffusion's filterbank (n_mels, n_fft // 2 + 1): HTK-mel-spaced triangles with peaks of
    1 (no area normalisation), as torchaudio's ``melscale_fbanks`` builds them."""

    def to_mel(hz: float) -> float:
        return 2595.0 * math.log10(1.0 + hz / 700.0)

    bins = np.linspace(0.0, params.sample_rate_hz / 2, params.n_fft // 2 + 1)
    edges_mel = np.linspace(
        to_mel(params.min_frequency_hz), to_mel(params.max_frequency_hz), params.n_mels + 2
    )
    edges = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)
    widths = np.diff(edges)
    slopes = edges[None, :] - bins[:, None]  # (bins, n_mels + 2)
    rising = -slopes[:, :-2] / widths[:-1]
    falling = slopes[:, 2:] / widths[1:]
    return np.maximum(0.0, np.minimum(rising, falling)).T


@functools.lru_cache(maxsize=4)
def _sparse_filters(params: SpectrogramParams) -> tuple[Any, Any]:
    sparse = require("scipy.sparse", "riffusion")
    filters = sparse.csr_matrix(mel_filters(params))
    return filters, filters.T.tocsr()


def _linear_from_mel(mel: np.ndarray, params: SpectrogramParams) -> np.ndarray:
    """Linear magnitudes whose mel projection matches ``mel`` — non-negative least squares by
    multiplicative updates, started from each band's magnitude spread over its bins."""
    filters, transposed = _sparse_filters(params)
    area = np.asarray(filters.sum(axis=1)).ravel()
    linear = transposed @ (mel / np.maximum(area, 1e-12)[:, None])
    target = transposed @ mel
    for _ in range(NNLS_ITERATIONS):
        linear *= target / np.maximum(transposed @ (filters @ linear), 1e-12)
    return np.asarray(linear)


class RiffusionProvider(LocalModelProvider):
    """Riffusion through ``StableDiffusionPipeline.from_pretrained`` (safety checker off: it
    would black out spectrograms it mistakes for something else)."""

    name = "riffusion"
    setting = "SONGFORGE_RIFFUSION_MODEL"
    packages = ("torch", "transformers", "diffusers")
    marker_file = "model_index.json"

    def __init__(
        self,
        model: str | None,
        *,
        device: DevicePreference = "auto",
        dtype: DtypePreference = "auto",
        max_clip_s: float = 5.12,
        steps: int = 50,
        guidance_scale: float = 7.0,
        griffin_lim_iters: int = 32,
        params: SpectrogramParams = RIFFUSION,
    ) -> None:
        super().__init__(model, device=device, dtype=dtype)
        self.steps = steps
        self.guidance_scale = guidance_scale
        self.griffin_lim_iters = griffin_lim_iters
        self.params = params
        self.capabilities = Capabilities(
            max_clip_s=max_clip_s,
            min_clip_s=1.0,
            continuation=False,
            stereo=False,
            sample_rate_hz=params.sample_rate_hz,
            local=True,
            price=PriceModel(notes="self-hosted: your hardware's time"),
        )

    def _load_objects(self, model: str, device: str, dtype: Any) -> dict[str, Any]:
        pipeline = load_pipeline(
            "StableDiffusionPipeline",
            model,
            device,
            dtype,
            safety_checker=None,
            requires_safety_checker=False,
        )
        return {"pipeline": pipeline}

    def generate_clip(self, request: ClipRequest, progress: ProgressCallback) -> Clip:
        loaded = self.load()
        check_duration(request.duration_s, self.capabilities.max_clip_s or 0.0, self.name)
        scale = int(getattr(loaded.objects["pipeline"], "vae_scale_factor", 8))
        columns = math.ceil(request.duration_s / self.params.hop_s / scale - 1e-9) * scale
        seed = resolve_seed(request.seed)
        output = run_pipeline(
            loaded,
            self.name,
            self.steps,
            progress,
            step_end_callback=True,
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            height=self.params.n_mels,
            width=columns,
            guidance_scale=self.guidance_scale,
            generator=cpu_generator(seed, self.name),
            output_type="np",
        )
        pixels = np.asarray(output.images[0], dtype=np.float32) * PIXEL_MAX
        audio = audio_from_image(
            pixels, self.params, iterations=self.griffin_lim_iters, seed=seed, device=loaded.device
        )
        sample_rate = self.params.sample_rate_hz
        return Clip(
            audio=fit_length(
                finish_audio(audio, self.name), round(request.duration_s * sample_rate)
            ),
            sample_rate_hz=sample_rate,
            provider=self.name,
            info={
                "model": self.model,
                "device": loaded.device,
                "seed": seed,
                "steps": self.steps,
                "guidance_scale": self.guidance_scale,
                "image_px": (self.params.n_mels, columns),
            },
        )


def from_settings(settings: Settings) -> RiffusionProvider:
    """The registry's factory: SONGFORGE_RIFFUSION_MODEL and its companions."""
    return RiffusionProvider(
        settings.riffusion_model,
        device=settings.riffusion_device,
        dtype=settings.neural_dtype,
        max_clip_s=settings.riffusion_max_clip_s,
        steps=settings.riffusion_steps,
        guidance_scale=settings.riffusion_guidance_scale,
        griffin_lim_iters=settings.riffusion_griffin_lim_iters,
    )
