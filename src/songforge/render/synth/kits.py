"""What makes each :class:`SynthKit` sound like itself, as data the percussion voices read."""

from __future__ import annotations

from dataclasses import dataclass

from songforge.styles.schema import SynthKit


@dataclass(frozen=True, slots=True)
class KitCharacter:
    """Parameters shared by every voice of a kit. Times in seconds, frequencies in Hz."""

    tune: float = 1.0  # multiplies every drum's pitch
    decay: float = 1.0  # multiplies every drum's decay time
    kick_start_hz: float = 150.0  # the kick's pitch sweep starts here ...
    kick_end_hz: float = 55.0  # ... and settles here
    kick_sweep_s: float = 0.035
    kick_decay_s: float = 0.45
    kick_click: float = 0.5  # beater click level
    kick_drive: float = 1.2  # soft-clip drive on the kick
    snare_tone_hz: float = 190.0
    snare_noise: float = 0.65  # noise (wires) vs tone (head) balance, 0..1
    snare_decay_s: float = 0.22
    snare_band_hz: tuple[float, float] = (1500.0, 9500.0)
    hat_metallic: float = 0.35  # 0: filtered noise, 1: a cluster of detuned squares (808)
    hat_highpass_hz: float = 7000.0
    cymbal_decay_s: float = 2.2
    brushes: bool = False  # snare swishes, felt kick, soft hats
    lowpass_hz: float | None = None  # darken the whole kit
    crunch_bits: int | None = None  # quantise every hit to this many bits
    drive: float = 1.0  # soft-clip drive on every hit (1 = clean)


KITS: dict[SynthKit, KitCharacter] = {
    SynthKit.ACOUSTIC: KitCharacter(),
    SynthKit.ROCK: KitCharacter(
        kick_start_hz=170.0,
        kick_end_hz=58.0,
        kick_decay_s=0.5,
        kick_click=0.8,
        kick_drive=2.0,
        snare_tone_hz=180.0,
        snare_noise=0.75,
        snare_decay_s=0.3,
        hat_metallic=0.4,
        cymbal_decay_s=2.8,
        drive=1.3,
    ),
    SynthKit.ELECTRONIC: KitCharacter(
        kick_start_hz=200.0,
        kick_end_hz=48.0,
        kick_sweep_s=0.05,
        kick_click=0.3,
        kick_drive=2.5,
        snare_tone_hz=220.0,
        snare_noise=0.6,
        snare_decay_s=0.18,
        snare_band_hz=(2000.0, 11000.0),
        hat_metallic=0.2,
        cymbal_decay_s=1.5,
    ),
    SynthKit.TR808: KitCharacter(
        kick_start_hz=110.0,
        kick_end_hz=48.0,
        kick_sweep_s=0.06,
        kick_decay_s=0.8,  # the boom, not the bass: 808 bass lines play their own long notes
        kick_click=0.15,
        kick_drive=1.1,
        snare_tone_hz=238.0,
        snare_noise=0.5,
        snare_decay_s=0.2,
        snare_band_hz=(2500.0, 12000.0),
        hat_metallic=1.0,
        cymbal_decay_s=1.6,
    ),
    SynthKit.TR909: KitCharacter(
        kick_start_hz=230.0,
        kick_end_hz=52.0,
        kick_sweep_s=0.03,
        kick_decay_s=0.5,
        kick_click=0.9,
        kick_drive=2.5,
        snare_tone_hz=200.0,
        snare_noise=0.75,
        hat_metallic=0.25,
        cymbal_decay_s=2.0,
    ),
    SynthKit.BREAKBEAT: KitCharacter(
        kick_start_hz=150.0,
        kick_end_hz=60.0,
        kick_decay_s=0.3,
        kick_click=0.7,
        kick_drive=2.0,
        snare_tone_hz=210.0,
        snare_noise=0.8,
        snare_decay_s=0.2,
        hat_metallic=0.3,
        lowpass_hz=11000.0,
        crunch_bits=12,
        drive=1.8,
    ),
    SynthKit.BRUSH: KitCharacter(
        kick_start_hz=120.0,
        kick_end_hz=55.0,
        kick_decay_s=0.35,
        kick_click=0.1,
        kick_drive=1.0,
        snare_noise=0.9,
        snare_decay_s=0.28,
        snare_band_hz=(1800.0, 7000.0),
        hat_metallic=0.3,
        hat_highpass_hz=5000.0,
        cymbal_decay_s=2.5,
        brushes=True,
    ),
    SynthKit.LOFI: KitCharacter(
        tune=0.95,
        kick_start_hz=140.0,
        kick_end_hz=50.0,
        kick_decay_s=0.4,
        kick_click=0.3,
        snare_tone_hz=200.0,
        snare_noise=0.6,
        hat_metallic=0.3,
        cymbal_decay_s=1.6,
        lowpass_hz=3800.0,
        crunch_bits=8,
        drive=1.6,
    ),
    SynthKit.ORCHESTRAL: KitCharacter(
        tune=0.9,
        kick_start_hz=80.0,
        kick_end_hz=45.0,
        kick_sweep_s=0.1,
        kick_decay_s=1.8,
        kick_click=0.05,
        kick_drive=1.0,
        snare_noise=0.85,
        snare_decay_s=0.35,
        cymbal_decay_s=3.5,
    ),
}
