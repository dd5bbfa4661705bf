"""`musicgen`: Meta's MusicGen, self-hosted through Hugging Face transformers.

One call makes at most 30 s: the decoder's position embeddings cap a generation at 1503 tokens
(EnCodec frames at 50 per second plus the codebook delay), and an audio prompt counts toward the
cap. Longer songs come from continuation: the orchestrator passes the tail of the previous clip
as ``ClipRequest.continuation`` and the model carries on from it.

With a continuation the returned clip **includes the prompt audio**
(``Clip.includes_prompt_audio``): it opens with the whole continuation — ``info["prompt_s"]``
seconds, as long as the ``AudioPrompt`` — and the new music follows from exactly where the
prompt ended. The part the model heard (``info["prompt_heard_s"]``: whole EnCodec frames, as
much as the token cap leaves room for) is MusicGen's own re-synthesis, decoded together with the
new codes and so continuous with them; anything earlier is the prompt audio as given. Drop the
first ``prompt_s`` seconds, or crossfade inside them, to join clips without a seam.

``MusicGenProvider.generate_long`` is audiocraft's own long-form recipe for direct users: 30 s
windows advancing by 18 s, each prompted with the previous 12 s."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from songforge.errors import ProviderError
from songforge.progress import Progress, ProgressCallback, ignore_progress
from songforge.providers._torch import (
    DevicePreference,
    DtypePreference,
    Loaded,
    LocalModelProvider,
    StepProgress,
    check_duration,
    finish_audio,
    fit_channels,
    fit_length,
    generation_failure,
    local_json,
    require,
    resample,
    resolve_seed,
    seeded,
)
from songforge.providers.base import AudioPrompt, Capabilities, Clip, ClipRequest, PriceModel
from songforge.settings import Settings

MAX_TOKENS = 1503  # what MusicGen was trained on: 1500 frames (30 s) plus the codebook delay
SPLICE_FADE_S = 0.1  # generate_long joins windows with this crossfade inside the prompt
DEFAULT_SAMPLE_RATE_HZ = 32000
DEFAULT_FRAME_RATE_HZ = 50


class _Shape:
    """The numbers generation depends on, read from a MusicGen config."""

    def __init__(self, config: dict[str, Any] | None, model: str) -> None:
        audio = (config or {}).get("audio_encoder", {})
        decoder = (config or {}).get("decoder", {})
        self.sample_rate_hz = int(audio.get("sampling_rate", DEFAULT_SAMPLE_RATE_HZ))
        ratios = audio.get("upsampling_ratios")
        self.hop = int(np.prod(ratios)) if ratios else self.sample_rate_hz // DEFAULT_FRAME_RATE_HZ
        self.frame_rate_hz = math.ceil(self.sample_rate_hz / self.hop)
        stereo_guess = 2 if "stereo" in model.lower() else 1
        self.channels = int(decoder.get("audio_channels", stereo_guess))
        self.codebooks = int(decoder.get("num_codebooks", 4 * self.channels)) // self.channels
        self.max_tokens = min(MAX_TOKENS, int(decoder.get("max_position_embeddings", MAX_TOKENS)))

    @property
    def delay(self) -> int:
        """Tokens the codebook delay pattern adds to a generation."""
        return self.codebooks - 1

    @property
    def max_frames(self) -> int:
        return self.max_tokens - self.delay


class _Cue:
    """A continuation made ready for the model: at its rate and channel count, and fed as whole
    EnCodec frames — padded with leading silence, or, past the room the token cap leaves, cut
    at the start — with what ``restore`` needs to give the clip the prompt's full length."""

    def __init__(self, audio: np.ndarray, frames: int, hop: int) -> None:
        self.audio = audio
        self.length = audio.shape[-1]
        self.heard_frames = frames
        fed = frames * hop
        self.pad = max(0, fed - self.length)
        tail = audio[:, max(0, self.length - fed) :]
        silence = np.zeros((audio.shape[0], self.pad), dtype=np.float32)
        self.heard = np.ascontiguousarray(np.concatenate([silence, tail], axis=-1))

    @classmethod
    def fit(cls, prompt: AudioPrompt, shape: _Shape, room_frames: int) -> _Cue | None:
        audio = fit_channels(np.asarray(prompt.audio, dtype=np.float32), shape.channels)
        audio = resample(audio, prompt.sample_rate_hz, shape.sample_rate_hz)
        frames = min(room_frames, math.ceil(audio.shape[-1] / shape.hop))
        return cls(audio, frames, shape.hop) if frames > 0 and audio.shape[-1] else None

    def restore(self, decoded: np.ndarray) -> np.ndarray:
        """The decoded output (heard prompt, then new music) behind the unheard head of the
        prompt and without the padding, so the clip opens with the whole prompt."""
        head = self.audio[:, : max(0, self.length - self.heard.shape[-1])]
        return np.concatenate([head, decoded[:, self.pad :]], axis=-1)


class MusicGenProvider(LocalModelProvider):
    """MusicGen through transformers' ``MusicgenForConditionalGeneration`` and its processor."""

    name = "musicgen"
    setting = "SONGFORGE_MUSICGEN_MODEL"
    packages = ("torch", "transformers")
    marker_file = "config.json"

    def __init__(
        self,
        model: str | None,
        *,
        device: DevicePreference = "auto",
        dtype: DtypePreference = "auto",
        max_window_s: float = 30.0,
        extend_stride_s: float = 18.0,
        guidance_scale: float = 3.0,
        top_k: int = 250,
        temperature: float = 1.0,
    ) -> None:
        super().__init__(model, device=device, dtype=dtype)
        self.max_window_s = max_window_s
        self.extend_stride_s = extend_stride_s
        self.guidance_scale = guidance_scale
        self.top_k = top_k
        self.temperature = temperature
        config = local_json(self.model, "config.json") if self.model else None
        self._set_shape(_Shape(config, self.model or ""))

    def _set_shape(self, shape: _Shape) -> None:
        self.shape = shape
        self.capabilities = Capabilities(
            max_clip_s=min(self.max_window_s, shape.max_frames / shape.frame_rate_hz),
            min_clip_s=1.0,
            continuation=True,
            stereo=shape.channels == 2,
            sample_rate_hz=shape.sample_rate_hz,
            local=True,
            price=PriceModel(notes="self-hosted: your hardware's time"),
        )

    def _load_objects(self, model: str, device: str, dtype: Any) -> dict[str, Any]:
        transformers = require("transformers", self.name)
        network = transformers.MusicgenForConditionalGeneration.from_pretrained(model, dtype=dtype)
        processor = transformers.AutoProcessor.from_pretrained(model)
        return {"model": network.to(device).eval(), "processor": processor}

    def _on_loaded(self, loaded: Loaded) -> None:
        self._set_shape(_Shape(loaded.objects["model"].config.to_dict(), self.model or ""))

    # --- one clip ---------------------------------------------------------------------------

    def generate_clip(self, request: ClipRequest, progress: ProgressCallback) -> Clip:
        """``request.duration_s`` of new music, after the whole prompt when continuing."""
        loaded = self.load()
        check_duration(request.duration_s, self.capabilities.max_clip_s or 0.0, self.name)
        shape = self.shape
        frames = math.ceil(request.duration_s * shape.frame_rate_hz - 1e-9)
        window_frames = min(shape.max_frames, math.floor(self.max_window_s * shape.frame_rate_hz))
        cue = None
        if request.continuation is not None:
            cue = _Cue.fit(request.continuation, shape, room_frames=window_frames - frames)
        seed = resolve_seed(request.seed)
        heard = None if cue is None else cue.heard
        audio = finish_audio(
            self._generate(loaded, request.prompt, frames, heard, seed, progress), self.name
        )
        if cue is not None:
            audio = cue.restore(audio)
        prompt_n = 0 if cue is None else cue.length
        n_samples = prompt_n + round(request.duration_s * shape.sample_rate_hz)
        return Clip(
            audio=fit_length(audio, n_samples),
            sample_rate_hz=shape.sample_rate_hz,
            provider=self.name,
            info={
                "model": self.model,
                "device": loaded.device,
                "seed": seed,
                "prompt_s": prompt_n / shape.sample_rate_hz,
                "prompt_heard_s": 0.0 if cue is None else cue.heard_frames / shape.frame_rate_hz,
                "continuation_dropped": request.continuation is not None and cue is None,
                "max_new_tokens": frames + shape.delay,
            },
            includes_prompt_audio=cue is not None,
        )

    def _generate(
        self,
        loaded: Loaded,
        text: str,
        frames: int,
        prompt: np.ndarray | None,
        seed: int,
        progress: ProgressCallback,
    ) -> Any:
        torch = require("torch", self.name)
        transformers = require("transformers", self.name)
        model, processor = loaded.objects["model"], loaded.objects["processor"]
        inputs: dict[str, Any] = {"text": [text], "padding": True, "return_tensors": "pt"}
        if prompt is not None:
            inputs["audio"] = [prompt[0] if self.shape.channels == 1 else prompt]
            inputs["sampling_rate"] = self.shape.sample_rate_hz
        max_new_tokens = frames + self.shape.delay
        steps = StepProgress(progress, self.name, max_new_tokens)
        try:
            encoded = processor(**inputs)
            tensors = {
                key: value.to(device=loaded.device, dtype=loaded.dtype)
                if value.is_floating_point()
                else value.to(device=loaded.device)
                for key, value in encoded.items()
            }
            stopping = transformers.StoppingCriteriaList([_ReportSteps(steps, torch.bool)])
            steps.start()
            with loaded.lock, seeded(seed, loaded.device, self.name), torch.inference_mode():
                output = model.generate(
                    **tensors,
                    do_sample=True,
                    guidance_scale=self.guidance_scale,
                    top_k=self.top_k,
                    temperature=self.temperature,
                    max_new_tokens=max_new_tokens,
                    stopping_criteria=stopping,
                )
        except Exception as exc:
            raise generation_failure(exc, self.name) from exc
        steps.finish()
        return output[0]

    # --- long form for direct users ---------------------------------------------------------

    def generate_long(
        self, request: ClipRequest, total_s: float, progress: ProgressCallback = ignore_progress
    ) -> Clip:
        """``total_s`` seconds in audiocraft's windows: the first window as long as allowed,
        then each one prompted with the last ``window - stride`` seconds (12 s of 30 s) and
        adding ``stride`` seconds (18 s); joined with a short crossfade inside the prompt.

        With ``request.continuation`` the first window continues it and, as with
        ``generate_clip``, the result opens with that whole prompt (``info["prompt_s"]``)."""
        if total_s <= 0:
            raise ProviderError("total_s must be positive", provider=self.name)
        self.load()
        sample_rate = self.shape.sample_rate_hz
        window_s = self.capabilities.max_clip_s or self.max_window_s
        stride_s = min(self.extend_stride_s, window_s)
        context_s = window_s - stride_s
        seed = resolve_seed(request.seed)
        prompt = request.continuation if context_s > 0 else None
        first_s = min(total_s, stride_s if prompt is not None else window_s)
        windows = 1 + math.ceil(max(0.0, total_s - first_s) / stride_s - 1e-9)
        stage = f"{self.name}:window"

        context_n = round(context_s * sample_rate)

        def window(index: int, new_s: float, prompt: AudioPrompt | None) -> Clip:
            progress(Progress(stage, index, windows))
            return self.generate_clip(
                ClipRequest(request.prompt, new_s, seed=seed + index, continuation=prompt),
                ignore_progress,
            )

        first = window(0, first_s, prompt)
        audio, made_s = first.audio, first_s
        prompt_s = float(first.info["prompt_s"])
        for index in range(1, windows):
            new_s = min(stride_s, total_s - made_s)
            clip = window(index, new_s, AudioPrompt(audio[:, -context_n:], sample_rate))
            audio, made_s = _splice(audio, clip, sample_rate), made_s + new_s
        progress(Progress(stage, windows, windows))
        total_n = round(prompt_s * sample_rate) + round(total_s * sample_rate)
        return Clip(
            audio=fit_length(audio, total_n),
            sample_rate_hz=sample_rate,
            provider=self.name,
            info={
                "model": self.model,
                "seed": seed,
                "windows": windows,
                "window_s": window_s,
                "stride_s": stride_s,
                "prompt_s": prompt_s,
            },
            includes_prompt_audio=first.includes_prompt_audio,
        )


def _splice(audio: np.ndarray, clip: Clip, sample_rate_hz: int) -> np.ndarray:
    """Append a window whose clip opens with the re-synthesised tail of ``audio``: keep the
    original, crossfade into the clip over the last part of the shared region, then go on."""
    shared = round(float(clip.info["prompt_s"]) * sample_rate_hz)
    fade = min(shared, round(SPLICE_FADE_S * sample_rate_hz))
    head = audio[:, : audio.shape[-1] - fade]
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    joined = (
        audio[:, audio.shape[-1] - fade :] * (1 - ramp)
        + clip.audio[:, shared - fade : shared] * ramp
    )
    return np.concatenate([head, joined, clip.audio[:, shared:]], axis=-1)


class _ReportSteps:
    """A stopping criterion that never stops: transformers calls it once per generated token,
    which makes it the per-step progress hook (and a raise from the callback cancels)."""

    def __init__(self, steps: StepProgress, bool_dtype: Any) -> None:
        self.steps = steps
        self.bool_dtype = bool_dtype

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        self.steps.step()
        return input_ids.new_zeros(input_ids.shape[0], dtype=self.bool_dtype)


def from_settings(settings: Settings) -> MusicGenProvider:
    """The registry's factory: SONGFORGE_MUSICGEN_MODEL and its companions."""
    return MusicGenProvider(
        settings.musicgen_model,
        device=settings.musicgen_device,
        dtype=settings.neural_dtype,
        max_window_s=settings.musicgen_max_window_s,
        extend_stride_s=settings.musicgen_extend_stride_s,
        guidance_scale=settings.musicgen_guidance_scale,
        top_k=settings.musicgen_top_k,
        temperature=settings.musicgen_temperature,
    )
