"""`stable-audio-open`: Stability AI's Stable Audio Open, self-hosted through diffusers'
``StableAudioPipeline`` — 44.1 kHz stereo, up to 47 s a clip, negative prompts.

It takes no audio prompt, so ``capabilities.continuation`` is False and the orchestrator joins
its clips by crossfading. The model always denoises its full window (47 s) and trims, so a short
clip costs as much as a long one."""

from __future__ import annotations

import math
from typing import Any

from songforge.progress import ProgressCallback
from songforge.providers._torch import (
    DevicePreference,
    DtypePreference,
    Loaded,
    LocalModelProvider,
    check_duration,
    cpu_generator,
    finish_audio,
    fit_length,
    load_pipeline,
    local_json,
    resolve_seed,
    run_pipeline,
)
from songforge.providers.base import Capabilities, Clip, ClipRequest, PriceModel
from songforge.settings import Settings

DEFAULT_MAX_CLIP_S = 47.0
DEFAULT_SAMPLE_RATE_HZ = 44100


class StableAudioOpenProvider(LocalModelProvider):
    """Stable Audio Open through ``StableAudioPipeline.from_pretrained``."""

    name = "stable-audio-open"
    setting = "SONGFORGE_STABLE_AUDIO_MODEL"
    # torchsde: the checkpoint's CosineDPMSolverMultistepScheduler samples Brownian noise with it
    packages = ("torch", "transformers", "diffusers", "torchsde")
    marker_file = "model_index.json"

    def __init__(
        self,
        model: str | None,
        *,
        device: DevicePreference = "auto",
        dtype: DtypePreference = "auto",
        max_clip_s: float = DEFAULT_MAX_CLIP_S,
        steps: int = 100,
        guidance_scale: float = 7.0,
    ) -> None:
        super().__init__(model, device=device, dtype=dtype)
        self.max_clip_s = max_clip_s
        self.steps = steps
        self.guidance_scale = guidance_scale
        vae = local_json(self.model, "vae/config.json") if self.model else None
        transformer = local_json(self.model, "transformer/config.json") if self.model else None
        self._describe(vae, transformer)

    def _describe(self, vae: dict[str, Any] | None, transformer: dict[str, Any] | None) -> None:
        """Capabilities from the VAE (rate, channels, hop) and the DiT (latent length)."""
        sample_rate = int((vae or {}).get("sampling_rate", DEFAULT_SAMPLE_RATE_HZ))
        window_s = self.max_clip_s
        if vae and transformer and vae.get("downsampling_ratios"):
            hop = math.prod(int(ratio) for ratio in vae["downsampling_ratios"])
            window_s = min(window_s, int(transformer["sample_size"]) * hop / sample_rate)
        self.capabilities = Capabilities(
            max_clip_s=window_s,
            min_clip_s=1.0,
            continuation=False,
            stereo=int((vae or {}).get("audio_channels", 2)) == 2,
            sample_rate_hz=sample_rate,
            local=True,
            price=PriceModel(notes="self-hosted: your hardware's time"),
        )

    def _load_objects(self, model: str, device: str, dtype: Any) -> dict[str, Any]:
        return {"pipeline": load_pipeline("StableAudioPipeline", model, device, dtype)}

    def _on_loaded(self, loaded: Loaded) -> None:
        pipeline = loaded.objects["pipeline"]
        self._describe(dict(pipeline.vae.config), dict(pipeline.transformer.config))

    def generate_clip(self, request: ClipRequest, progress: ProgressCallback) -> Clip:
        loaded = self.load()
        check_duration(request.duration_s, self.capabilities.max_clip_s or 0.0, self.name)
        seed = resolve_seed(request.seed)
        output = run_pipeline(
            loaded,
            self.name,
            self.steps,
            progress,
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            audio_end_in_s=request.duration_s,
            guidance_scale=self.guidance_scale,
            generator=cpu_generator(seed, self.name),
            output_type="np",
        )
        sample_rate = self.capabilities.sample_rate_hz
        audio = finish_audio(output.audios[0], self.name)
        return Clip(
            audio=fit_length(audio, round(request.duration_s * sample_rate)),
            sample_rate_hz=sample_rate,
            provider=self.name,
            info={
                "model": self.model,
                "device": loaded.device,
                "seed": seed,
                "steps": self.steps,
                "guidance_scale": self.guidance_scale,
            },
        )


def from_settings(settings: Settings) -> StableAudioOpenProvider:
    """The registry's factory: SONGFORGE_STABLE_AUDIO_MODEL and its companions."""
    return StableAudioOpenProvider(
        settings.stable_audio_model,
        device=settings.stable_audio_device,
        dtype=settings.neural_dtype,
        max_clip_s=settings.stable_audio_max_clip_s,
        steps=settings.stable_audio_steps,
        guidance_scale=settings.stable_audio_guidance_scale,
    )
