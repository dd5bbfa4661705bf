"""Tiny randomly initialised models for the self-hosted provider tests, built in code the way
transformers' and diffusers' own test suites build theirs, with tokenizers trained here on a
few sentences, and saved with ``save_pretrained`` so the adapters load them through the same
``from_pretrained`` calls users make. Nothing is downloaded.

Sizes are chosen for speed, not sound: hidden sizes of 4–16 and one or two layers. Imports of
torch, transformers and diffusers happen inside the builders, so a test module can skip on a
machine without the `neural` extra before touching them."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
CORPUS = [
    "calm piano ballad with soft strings",
    "energetic rock song with drums and electric guitar",
    "lofi hip hop beat with vinyl crackle",
    "ambient synth pad, slow and warm",
    "driving techno at 128 bpm in a minor",
    "a hammer hitting a wooden surface",
]


def go_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch Hugging Face downloads off for one test, even if the hub library was imported
    before the environment variable was set, and make any other connection off this machine
    fail loudly."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    connect = socket.socket.connect

    def loopback_only(sock: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in LOOPBACK:
            raise OSError(f"a provider test tried to reach {address}")
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    try:
        import huggingface_hub.constants as hub_constants
    except ImportError:
        return
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread: toy-sized ops on a busy two-core machine spend most of their
    time waiting for a second thread, ten times the work itself."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --- tokenizers ------------------------------------------------------------------------------


def t5_tokenizer(max_length: int = 32) -> Any:
    """A T5 tokenizer over a Unigram vocabulary of ~60 pieces trained on ``CORPUS``."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import T5Tokenizer

    backend = Tokenizer(models.Unigram())
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=60,
        special_tokens=["<pad>", "</s>", "<unk>"],  # T5's ids 0, 1, 2
        unk_token="<unk>",
        show_progress=False,
    )
    backend.train_from_iterator(CORPUS * 4, trainer)
    vocab = [(piece, score) for piece, score in json.loads(backend.to_str())["model"]["vocab"]]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=max_length)


def _byte_level_bpe(special_tokens: list[str], end_of_word: str = "") -> tuple[Any, Any]:
    """A byte-level BPE vocabulary (all 256 bytes plus ~100 merges) and its merges."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    suffix: dict[str, Any] = {"end_of_word_suffix": end_of_word} if end_of_word else {}
    backend = Tokenizer(models.BPE(**suffix))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
        **suffix,
    )
    backend.train_from_iterator(CORPUS * 4, trainer)
    model = json.loads(backend.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return model["vocab"], merges


def clip_tokenizer(max_length: int = 16) -> Any:
    from transformers import CLIPTokenizer

    vocab, merges = _byte_level_bpe(["<|startoftext|>", "<|endoftext|>"], end_of_word="</w>")
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=max_length)


def roberta_tokenizer(max_length: int = 16) -> Any:
    from transformers import RobertaTokenizer

    vocab, merges = _byte_level_bpe(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    return RobertaTokenizer(vocab=vocab, merges=merges, model_max_length=max_length)


# --- MusicGen (transformers) -----------------------------------------------------------------


def build_tiny_musicgen(path: Path, *, channels: int = 1, max_positions: int = 100) -> Path:
    """MusicGen's real layout — T5 text encoder, 32 kHz EnCodec at 50 frames/s, a decoder over
    four codebooks per channel — at toy sizes; ``max_positions`` caps tokens per generation."""
    import torch
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
        T5Config,
    )

    tokenizer = t5_tokenizer()
    codebook_size = 64
    text = T5Config(
        vocab_size=len(tokenizer), d_model=16, d_ff=16, d_kv=8, num_layers=1, num_heads=2
    )
    audio = EncodecConfig(
        sampling_rate=32000,
        upsampling_ratios=[8, 5, 4, 4],  # hop 640: 50 frames per second, as MusicGen
        target_bandwidths=[1.2],  # 4 codebooks of 6 bits at 50 Hz
        codebook_size=codebook_size,
        codebook_dim=16,
        hidden_size=16,
        num_filters=2,
        num_lstm_layers=1,
        num_residual_layers=1,
        compress=1,
        use_causal_conv=False,
        audio_channels=1,
    )
    decoder = MusicgenDecoderConfig(
        vocab_size=codebook_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        ffn_dim=16,
        max_position_embeddings=max_positions,
        num_codebooks=4 * channels,
        audio_channels=channels,
        pad_token_id=codebook_size,
        bos_token_id=codebook_size,
    )
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(
        MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder)
    )
    codec: Any = model.audio_encoder
    with torch.no_grad():  # EnCodec starts with all-zero codebooks: every code would sound alike
        for layer in codec.quantizer.layers:
            layer.codebook.embed.normal_()
            layer.codebook.embed_avg.copy_(layer.codebook.embed)
    extractor = EncodecFeatureExtractor(feature_size=channels, sampling_rate=32000)
    processor = MusicgenProcessor(feature_extractor=extractor, tokenizer=tokenizer)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


# --- Stable Audio Open (diffusers) -----------------------------------------------------------


def build_tiny_stable_audio(path: Path) -> Path:
    """StableAudioPipeline's six components at toy sizes; the Oobleck VAE keeps the real
    44.1 kHz, stereo and 2048-sample hop, so 32 latents make 1.49 s."""
    import torch
    from diffusers import (
        AutoencoderOobleck,
        CosineDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
        StableAudioProjectionModel,
    )
    from transformers import T5Config, T5EncoderModel

    tokenizer = t5_tokenizer()
    torch.manual_seed(0)
    text_encoder = T5EncoderModel(
        T5Config(vocab_size=len(tokenizer), d_model=8, d_ff=8, d_kv=4, num_layers=1, num_heads=2)
    )
    transformer = StableAudioDiTModel(
        sample_size=32,
        in_channels=4,
        out_channels=4,
        num_layers=1,
        attention_head_dim=4,
        num_attention_heads=2,
        num_key_value_attention_heads=1,
        cross_attention_dim=8,
        cross_attention_input_dim=8,  # = the projection's conditioning_dim
        global_states_input_dim=16,  # start and end seconds, conditioning_dim each
        time_proj_dim=8,
    )
    vae = AutoencoderOobleck(
        encoder_hidden_size=4,
        downsampling_ratios=[2, 4, 4, 8, 8],
        channel_multiples=[1, 1, 1, 1, 1],
        decoder_channels=4,
        decoder_input_channels=4,
        audio_channels=2,
        sampling_rate=44100,
    )
    projection = StableAudioProjectionModel(
        text_encoder_dim=8, conditioning_dim=8, min_value=0, max_value=512
    )
    scheduler = CosineDPMSolverMultistepScheduler(
        solver_order=2, prediction_type="v_prediction", sigma_data=1.0
    )
    pipeline: Any = StableAudioPipeline(
        vae=vae,
        text_encoder=text_encoder,
        projection_model=projection,
        tokenizer=tokenizer,
        transformer=transformer,
        scheduler=scheduler,
    )
    pipeline.save_pretrained(path)
    return path


# --- AudioLDM 2 (diffusers) ------------------------------------------------------------------


def build_tiny_audioldm2(path: Path) -> Path:
    """AudioLDM2Pipeline's eleven components — CLAP and T5 text encoders with their tokenizers,
    a GPT-2 that turns their projections into conditioning, a two-stream UNet, a one-channel
    VAE over mel spectrograms and a HiFi-GAN vocoder at 16 kHz — at toy sizes."""
    import torch
    from diffusers import (
        AudioLDM2Pipeline,
        AudioLDM2ProjectionModel,
        AudioLDM2UNet2DConditionModel,
        AutoencoderKL,
        DDIMScheduler,
    )
    from transformers import (
        ClapAudioConfig,
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapTextConfig,
        GPT2Config,
        GPT2LMHeadModel,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
        T5Config,
        T5EncoderModel,
    )

    tokenizer = roberta_tokenizer()
    tokenizer_2 = t5_tokenizer(max_length=16)
    torch.manual_seed(0)
    clap_text = ClapTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=8,
        intermediate_size=8,
        num_attention_heads=2,
        num_hidden_layers=1,
        projection_dim=8,
        max_position_embeddings=24,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    clap_audio = ClapAudioConfig(
        spec_size=64,
        window_size=4,
        num_mel_bins=64,
        depths=[1, 1],
        num_attention_heads=[1, 1],
        num_hidden_layers=2,
        hidden_size=16,
        projection_dim=8,
        patch_size=2,
        patch_stride=2,
        patch_embed_input_channels=4,
    )
    text_encoder = ClapModel(
        ClapConfig(
            text_config=clap_text.to_dict(), audio_config=clap_audio.to_dict(), projection_dim=8
        )
    )
    text_encoder_2 = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer_2), d_model=16, d_ff=16, d_kv=8, num_heads=2, num_layers=1
        )
    )
    language_model = GPT2LMHeadModel(
        GPT2Config(n_embd=8, n_head=2, n_layer=1, vocab_size=4, n_positions=32)
    )
    language_model.config.max_new_tokens = 4
    projection = AudioLDM2ProjectionModel(
        text_encoder_dim=8, text_encoder_1_dim=16, langauge_model_dim=8
    )
    unet = AudioLDM2UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=([None, 8, 16], [None, 8, 16]),  # GPT-2 width, T5 width
        norm_num_groups=4,
        attention_head_dim=2,
    )
    vae = AutoencoderKL(
        block_out_channels=[4, 4],
        in_channels=1,
        out_channels=1,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=4,
        norm_num_groups=2,
        layers_per_block=1,
    )
    vocoder = SpeechT5HifiGan(
        SpeechT5HifiGanConfig(
            model_in_dim=8,  # mel bins: the VAE's latent height × its scale factor of 2
            sampling_rate=16000,
            upsample_initial_channel=8,
            upsample_rates=[2, 2],
            upsample_kernel_sizes=[4, 4],
            resblock_kernel_sizes=[3],
            resblock_dilation_sizes=[[1]],
            normalize_before=False,
            initializer_range=0.5,  # loud enough to tell from silence at toy size
        )
    )
    extractor = ClapFeatureExtractor(feature_size=64, sampling_rate=48000, hop_length=480)
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
    )
    pipeline: Any = AudioLDM2Pipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        projection_model=projection,
        language_model=language_model,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        feature_extractor=extractor,
        unet=unet,
        scheduler=scheduler,
        vocoder=vocoder,
    )
    pipeline.save_pretrained(path)
    return path


# --- Riffusion (a Stable Diffusion pipeline) -------------------------------------------------


def build_tiny_riffusion(path: Path) -> Path:
    """A Stable Diffusion pipeline (CLIP text encoder, UNet, VAE) at toy sizes, with attention
    only at the coarsest level so 512-pixel-tall spectrogram images stay cheap."""
    import torch
    from diffusers import (
        AutoencoderKL,
        PNDMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = clip_tokenizer()
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=8,
            intermediate_size=8,
            num_attention_heads=2,
            num_hidden_layers=1,
            max_position_embeddings=16,
            projection_dim=8,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8, 8),
        layers_per_block=1,
        sample_size=64,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        cross_attention_dim=8,
        norm_num_groups=2,
        attention_head_dim=2,
    )
    vae = AutoencoderKL(
        block_out_channels=[4, 4, 4, 4],  # scale factor 8, as Stable Diffusion's
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        latent_channels=4,
        norm_num_groups=2,
        layers_per_block=1,
        sample_size=512,
    )
    pipeline: Any = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=PNDMScheduler(skip_prk_steps=True, steps_offset=1),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(path)
    return path
