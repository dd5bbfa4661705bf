"""`audioldm2`: AudioLDM 2 (e.g. cvssp/audioldm2-music), self-hosted through diffusers'
``AudioLDM2Pipeline`` — 16 kHz mono, about 10 s a clip, negative prompts.

Like `stable-audio-open` it takes no audio prompt: the orchestrator crossfades its clips."""

from __future__ import annotations

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

DEFAULT_MAX_CLIP_S = 10.24  # the length AudioLDM 2 was trained on
DEFAULT_SAMPLE_RATE_HZ = 16000


class AudioLDM2Provider(LocalModelProvider):
    """AudioLDM 2 through ``AudioLDM2Pipeline.from_pretrained``."""

    name = "audioldm2"
    setting = "SONGFORGE_AUDIOLDM2_MODEL"
    packages = ("torch", "transformers", "diffusers")
    marker_file = "model_index.json"

    def __init__(
        self,
        model: str | None,
        *,
        device: DevicePreference = "auto",
        dtype: DtypePreference = "auto",
        max_clip_s: float = DEFAULT_MAX_CLIP_S,
        steps: int = 200,
        guidance_scale: float = 3.5,
    ) -> None:
        super().__init__(model, device=device, dtype=dtype)
        self.max_clip_s = max_clip_s
        self.steps = steps
        self.guidance_scale = guidance_scale
        vocoder = local_json(self.model, "vocoder/config.json") if self.model else None
        self._describe(vocoder)

    def _describe(self, vocoder: dict[str, Any] | None) -> None:
        """The vocoder sets the output rate; AudioLDM 2 is mono."""
        self.capabilities = Capabilities(
            max_clip_s=self.max_clip_s,
            min_clip_s=1.0,
            continuation=False,
            stereo=False,
            sample_rate_hz=int((vocoder or {}).get("sampling_rate", DEFAULT_SAMPLE_RATE_HZ)),
            local=True,
            price=PriceModel(notes="self-hosted: your hardware's time"),
        )

    def _load_objects(self, model: str, device: str, dtype: Any) -> dict[str, Any]:
        return {"pipeline": load_pipeline("AudioLDM2Pipeline", model, device, dtype)}

    def _on_loaded(self, loaded: Loaded) -> None:
        self._describe(dict(loaded.objects["pipeline"].vocoder.config.to_dict()))

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
            audio_length_in_s=request.duration_s,
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


def from_settings(settings: Settings) -> AudioLDM2Provider:
    """The registry's factory: SONGFORGE_AUDIOLDM2_MODEL and its companions."""
    return AudioLDM2Provider(
        settings.audioldm2_model,
        device=settings.audioldm2_device,
        dtype=settings.neural_dtype,
        max_clip_s=settings.audioldm2_max_clip_s,
        steps=settings.audioldm2_steps,
        guidance_scale=settings.audioldm2_guidance_scale,
    )
