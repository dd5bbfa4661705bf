"""Synthesized drum and percussion hits: one function per family, coloured by a kit.

Every :class:`Drum` has a voice in every kit; unknown GM drum notes play the nearest one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from songforge.compose.drums import Drum
from songforge.render.synth.envelopes import exp_decay
from songforge.render.synth.filters import bandpass, highpass, lowpass, soft_clip, sweep_lowpass
from songforge.render.synth.kits import KITS, KitCharacter
from songforge.render.synth.oscillators import phase_words, sine, square
from songforge.render.synth.voice import normalise
from songforge.styles.schema import SynthKit

_808_METAL_HZ = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)  # the TR-808's six square waves


@dataclass(frozen=True, slots=True)
class Hit:
    """One drum strike to synthesize: the kit's character, velocity in (0, 1], a seeded
    generator (round-robin variants differ by seed) and the sample rate."""

    kit: KitCharacter
    velocity: float
    rng: np.random.Generator
    sample_rate_hz: int

    def samples(self, seconds: float) -> int:
        return max(16, round(seconds * self.sample_rate_hz))

    def noise(self, n: int) -> np.ndarray:
        return self.rng.standard_normal(n).astype(np.float32)

    def nudge(self) -> float:
        """A tiny per-variant tuning offset (±1 %) so repeated hits are not identical."""
        return 1.0 + 0.01 * float(self.rng.uniform(-1.0, 1.0))


def _swept_sine(hit: Hit, start_hz: float, end_hz: float, sweep_s: float, n: int) -> np.ndarray:
    t = np.arange(n, dtype=np.float32) / np.float32(hit.sample_rate_hz)
    freq = np.float32(end_hz) + np.float32(start_hz - end_hz) * np.exp(-t / np.float32(sweep_s))
    return sine(phase_words(freq, n, hit.sample_rate_hz))


def _burst(hit: Hit, n: int, low_hz: float, high_hz: float, decay_s: float) -> np.ndarray:
    return bandpass(hit.noise(n), low_hz, high_hz, hit.sample_rate_hz) * exp_decay(
        n, decay_s, hit.sample_rate_hz
    )


def kick(hit: Hit) -> np.ndarray:
    """Pitch-swept sine body plus a beater click; 808 kits ring long."""
    kit, sr = hit.kit, hit.sample_rate_hz
    decay_s = kit.kick_decay_s * kit.decay
    n = hit.samples(decay_s * 1.1 + 0.02)
    tune = kit.tune * hit.nudge()
    body = _swept_sine(hit, kit.kick_start_hz * tune, kit.kick_end_hz * tune, kit.kick_sweep_s, n)
    body *= exp_decay(n, decay_s, sr)
    click_n = min(n, hit.samples(0.006))
    click = highpass(hit.noise(click_n), 1500.0, sr) * exp_decay(click_n, 0.005, sr)
    body[:click_n] += kit.kick_click * (0.4 + 0.6 * hit.velocity) * click
    return soft_clip(normalise(body), kit.kick_drive)


def snare(hit: Hit) -> np.ndarray:
    """A tuned head (two modes) under a burst of filtered noise for the wires."""
    kit, sr = hit.kit, hit.sample_rate_hz
    if kit.brushes:
        return brush_swish(hit)
    decay_s = kit.snare_decay_s * kit.decay
    n = hit.samples(decay_s * 1.3)
    f0 = kit.snare_tone_hz * kit.tune * hit.nudge()
    head = _swept_sine(hit, f0 * 1.3, f0, 0.01, n) + 0.5 * _swept_sine(
        hit, f0 * 2.3, f0 * 1.8, 0.01, n
    )
    head *= exp_decay(n, 0.12 * kit.decay, sr)
    low, high = kit.snare_band_hz
    wires = _burst(hit, n, low, high * (0.6 + 0.4 * hit.velocity), decay_s)
    return (1.0 - kit.snare_noise) * normalise(head) + kit.snare_noise * normalise(wires)


def brush_swish(hit: Hit) -> np.ndarray:
    """A brush on a snare: a light tap, then a swept swish of band-passed noise."""
    kit, sr = hit.kit, hit.sample_rate_hz
    n = hit.samples(kit.snare_decay_s * kit.decay * 1.4)
    low, high = kit.snare_band_hz
    swish = bandpass(hit.noise(n), low, high, sr)
    swell = np.minimum(np.arange(n, dtype=np.float32) / np.float32(hit.samples(0.035)), 1.0)
    swish *= swell * exp_decay(n, kit.snare_decay_s * kit.decay, sr)
    tap_n = min(n, hit.samples(0.012))
    swish[:tap_n] += 0.8 * _burst(hit, tap_n, 1000.0, 5000.0, 0.01)
    return normalise(swish)


def _metal(hit: Hit, n: int, base_scale: float) -> np.ndarray:
    """The 808 cymbal source: six detuned square waves summed (an inharmonic clang). Plain
    (not band-limited) squares: their aliases vanish in the dense cluster and the high-pass,
    and they cost a shift per sample instead of two polyBLEP saws."""
    top_bits = np.zeros(n, dtype=np.uint8)
    for freq in _808_METAL_HZ:
        freq_hz = freq * base_scale * hit.kit.tune
        words = phase_words(freq_hz, n, hit.sample_rate_hz, float(hit.rng.random()))
        top_bits += (words >> np.uint32(31)).astype(np.uint8)
    return top_bits.astype(np.float32) * np.float32(2.0) - np.float32(len(_808_METAL_HZ))


def _cymbal_source(hit: Hit, n: int, metallic: float, base_scale: float) -> np.ndarray:
    source = (1.0 - metallic) * hit.noise(n)
    if metallic > 0:
        source += metallic * normalise(_metal(hit, n, base_scale), 2.0)
    return source


def _hat(hit: Hit, decay_s: float, highpass_hz: float) -> np.ndarray:
    kit, sr = hit.kit, hit.sample_rate_hz
    decay = decay_s * kit.decay
    n = hit.samples(decay * 1.1)
    source = _cymbal_source(hit, n, kit.hat_metallic, 1.0)
    top = 0.45 * sr if hit.velocity > 0.5 else min(0.45 * sr, 11000.0)
    hat = bandpass(source, highpass_hz, top, sr, order=3)
    return normalise(hat * exp_decay(n, decay, sr))


def hat_closed(hit: Hit) -> np.ndarray:
    return _hat(hit, 0.07, hit.kit.hat_highpass_hz)


def hat_open(hit: Hit) -> np.ndarray:
    return _hat(hit, 0.9, hit.kit.hat_highpass_hz)


def hat_pedal(hit: Hit) -> np.ndarray:
    """The foot 'chick': shorter and lower than a stick hit."""
    return _hat(hit, 0.09, hit.kit.hat_highpass_hz * 0.7)


def _crash_like(
    hit: Hit, decay_s: float, low_hz: float, metallic: float, scale: float
) -> np.ndarray:
    kit, sr = hit.kit, hit.sample_rate_hz
    decay = decay_s * kit.decay
    n = hit.samples(decay * 1.05)
    source = _cymbal_source(hit, n, metallic, scale)
    wash = bandpass(source, low_hz, 0.45 * sr, sr)
    env = exp_decay(n, decay, sr) * (0.6 + 0.4 * exp_decay(n, 0.15, sr))
    return normalise(wash * env)


def crash(hit: Hit) -> np.ndarray:
    return _crash_like(hit, hit.kit.cymbal_decay_s, 3000.0, 0.3, 2.4)


def splash(hit: Hit) -> np.ndarray:
    return _crash_like(hit, hit.kit.cymbal_decay_s * 0.4, 4500.0, 0.3, 3.0)


def china(hit: Hit) -> np.ndarray:
    """Trashy: more clang, lower band, driven."""
    return soft_clip(_crash_like(hit, hit.kit.cymbal_decay_s * 0.8, 1800.0, 0.7, 1.7), 2.5)


def _bell_partials(
    hit: Hit, n: int, partials: tuple[tuple[float, float], ...], decay_s: float
) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    for freq, amp in partials:
        freq_hz = min(freq * hit.kit.tune * hit.nudge(), 0.45 * hit.sample_rate_hz)
        out += amp * sine(phase_words(freq_hz, n, hit.sample_rate_hz, float(hit.rng.random())))
    return out * exp_decay(n, decay_s * hit.kit.decay, hit.sample_rate_hz)


def ride(hit: Hit) -> np.ndarray:
    """A defined 'ping' over a quieter wash."""
    decay = hit.kit.cymbal_decay_s * 1.1
    n = hit.samples(decay * hit.kit.decay)
    ping = _bell_partials(
        hit, n, ((3150.0, 1.0), (4280.0, 0.7), (5410.0, 0.5), (7600.0, 0.3)), decay * 0.5
    )
    wash = _crash_like(hit, decay, 5000.0, 0.2, 2.8)[:n]
    return normalise(0.5 * normalise(ping) + 0.6 * wash)


def ride_bell(hit: Hit) -> np.ndarray:
    n = hit.samples(1.6 * hit.kit.decay)
    partials = ((720.0, 1.0), (1690.0, 0.8), (2610.0, 0.5), (3790.0, 0.35), (5230.0, 0.2))
    return normalise(_bell_partials(hit, n, partials, 1.4))


def _tom(hit: Hit, freq_hz: float) -> np.ndarray:
    kit, sr = hit.kit, hit.sample_rate_hz
    decay = (0.5 if freq_hz < 130 else 0.4) * kit.decay
    n = hit.samples(decay * 1.1)
    f0 = freq_hz * kit.tune * hit.nudge()
    body = _swept_sine(hit, f0 * 1.5, f0, 0.05, n) * exp_decay(n, decay, sr)
    stick_n = min(n, hit.samples(0.02))
    body[:stick_n] += 0.3 * hit.velocity * _burst(hit, stick_n, 800.0, 6000.0, 0.015)
    return soft_clip(normalise(body), 1.3)


def tom_low(hit: Hit) -> np.ndarray:
    return _tom(hit, 98.0)


def tom_mid(hit: Hit) -> np.ndarray:
    return _tom(hit, 135.0)


def tom_high(hit: Hit) -> np.ndarray:
    return _tom(hit, 180.0)


def clap(hit: Hit) -> np.ndarray:
    """Several hands a few ms apart, then a short room tail, around 1 kHz."""
    sr = hit.sample_rate_hz
    n = hit.samples(0.25 * hit.kit.decay + 0.04)
    low, high = (700.0, 2500.0) if not hit.kit.brushes else (500.0, 1800.0)
    noise = bandpass(hit.noise(n), low, high, sr)
    env = np.zeros(n, dtype=np.float32)
    for offset_s in (0.0, 0.011, 0.021, 0.032):
        start = int(offset_s * sr * hit.nudge())
        env[start:] += exp_decay(n - start, 0.02, sr)
    tail_start = int(0.032 * sr)
    env[tail_start:] += 0.5 * exp_decay(n - tail_start, 0.22 * hit.kit.decay, sr)
    return normalise(noise * env)


def rim(hit: Hit) -> np.ndarray:
    """Cross-stick: a woody knock at ~1.7 kHz and 450 Hz, very short."""
    n = hit.samples(0.06)
    knock = _bell_partials(hit, n, ((1700.0, 1.0), (460.0, 0.6)), 0.035)
    return normalise(knock + 0.4 * _burst(hit, n, 2000.0, 7000.0, 0.01))


def snap(hit: Hit) -> np.ndarray:
    n = hit.samples(0.08)
    return normalise(
        _burst(hit, n, 1400.0, 3600.0, 0.04) + 0.3 * _bell_partials(hit, n, ((2200.0, 1.0),), 0.03)
    )


def shaker(hit: Hit) -> np.ndarray:
    """Beads: high noise that swells over 15 ms and dies in 80."""
    sr = hit.sample_rate_hz
    n = hit.samples(0.12)
    noise = highpass(hit.noise(n), 5000.0, sr)
    t = np.arange(n, dtype=np.float32) / np.float32(0.015 * sr)
    shape = t * np.exp(1.0 - t)  # peaks at 15 ms
    return normalise(noise * shape * exp_decay(n, 0.15, sr))


def tambourine(hit: Hit) -> np.ndarray:
    """Jingles: bright inharmonic partials and noise in three quick shakes."""
    sr = hit.sample_rate_hz
    n = hit.samples(0.3 * hit.kit.decay)
    jingles = _bell_partials(
        hit, n, ((5200.0, 1.0), (6800.0, 0.8), (8300.0, 0.6), (10100.0, 0.4)), 0.25
    )
    jingles += highpass(hit.noise(n), 6000.0, sr) * exp_decay(n, 0.2, sr)
    env = np.zeros(n, dtype=np.float32)
    for offset_s in (0.0, 0.009, 0.019):
        start = int(offset_s * sr)
        env[start:] += exp_decay(n - start, 0.12, sr)
    return normalise(jingles * env)


def cowbell(hit: Hit) -> np.ndarray:
    """The 808 cowbell: two squares at 540 and 800 Hz through a band-pass."""
    sr = hit.sample_rate_hz
    n = hit.samples(0.4 * hit.kit.decay)
    tone = np.zeros(n, dtype=np.float32)
    for freq in (540.0, 800.0):
        freq_hz = freq * hit.kit.tune
        tone += square(phase_words(freq_hz, n, sr), freq_hz, sr)
    tone = bandpass(tone, 500.0, 3000.0, sr)
    env = 0.7 * exp_decay(n, 0.05, sr) + 0.3 * exp_decay(n, 0.35 * hit.kit.decay, sr)
    return normalise(tone * env)


def _hand_drum(hit: Hit, freq_hz: float, decay_s: float) -> np.ndarray:
    sr = hit.sample_rate_hz
    n = hit.samples(decay_s * hit.kit.decay * 1.1)
    f0 = freq_hz * hit.kit.tune * hit.nudge()
    body = _swept_sine(hit, f0 * 1.15, f0, 0.02, n) + 0.3 * _swept_sine(
        hit, f0 * 1.7, f0 * 1.5, 0.02, n
    )
    body *= exp_decay(n, decay_s * hit.kit.decay, sr)
    slap_n = min(n, hit.samples(0.01))
    body[:slap_n] += 0.5 * hit.velocity * _burst(hit, slap_n, 1500.0, 6000.0, 0.006)
    return normalise(body)


def conga_high(hit: Hit) -> np.ndarray:
    return _hand_drum(hit, 330.0, 0.25)


def conga_low(hit: Hit) -> np.ndarray:
    return _hand_drum(hit, 220.0, 0.32)


def bongo(hit: Hit) -> np.ndarray:
    return _hand_drum(hit, 400.0, 0.18)


def taiko(hit: Hit) -> np.ndarray:
    """A big festival drum: a deep body dropping into pitch under a skin slap."""
    sr = hit.sample_rate_hz
    decay = 1.2 * hit.kit.decay
    n = hit.samples(decay * 1.05)
    body = _swept_sine(hit, 115.0 * hit.kit.tune, 68.0 * hit.kit.tune, 0.05, n) * exp_decay(
        n, decay, sr
    )
    skin_n = min(n, hit.samples(0.3))
    skin = lowpass(hit.noise(skin_n), 600.0, sr) * exp_decay(skin_n, 0.25, sr)
    body[:skin_n] += 0.6 * normalise(skin)
    return soft_clip(normalise(body), 1.6)


def timpani(hit: Hit) -> np.ndarray:
    """A kettledrum on G2: circular-membrane modes that ring, a soft mallet."""
    sr = hit.sample_rate_hz
    n = hit.samples(2.5 * hit.kit.decay)
    f0 = 98.0
    modes = ((f0, 1.0), (f0 * 1.5, 0.5), (f0 * 1.98, 0.35), (f0 * 2.44, 0.2))
    body = _bell_partials(hit, n, modes, 2.2)
    mallet_n = min(n, hit.samples(0.05))
    body[:mallet_n] += 0.4 * lowpass(hit.noise(mallet_n), 400.0, sr) * exp_decay(mallet_n, 0.04, sr)
    return normalise(body)


def vinyl_hit(hit: Hit) -> np.ndarray:
    """A record-noise accent: a scratchy band of noise falling in pitch, with crackle."""
    sr = hit.sample_rate_hz
    n = hit.samples(0.25)
    t = np.arange(n, dtype=np.float32) / np.float32(sr)
    cutoff = 3000.0 * np.exp(-t / np.float32(0.06)) + 300.0
    scratch = sweep_lowpass(highpass(hit.noise(n), 250.0, sr), cutoff, 4.0, sr)
    crackle = np.zeros(n, dtype=np.float32)
    crackle[hit.rng.integers(0, n, 6)] = hit.rng.uniform(-1.0, 1.0, 6).astype(np.float32)
    crackle = bandpass(crackle, 1000.0, 6000.0, sr)
    return normalise(normalise(scratch) * exp_decay(n, 0.2, sr) + 0.5 * crackle)


VOICES: dict[Drum, Callable[[Hit], np.ndarray]] = {
    Drum.VINYL_HIT: vinyl_hit,
    Drum.SNAP: snap,
    Drum.TAIKO: taiko,
    Drum.KICK: kick,
    Drum.RIM: rim,
    Drum.SNARE: snare,
    Drum.CLAP: clap,
    Drum.TIMPANI: timpani,
    Drum.TOM_LOW: tom_low,
    Drum.HAT_CLOSED: hat_closed,
    Drum.HAT_PEDAL: hat_pedal,
    Drum.HAT_OPEN: hat_open,
    Drum.TOM_MID: tom_mid,
    Drum.CRASH: crash,
    Drum.TOM_HIGH: tom_high,
    Drum.RIDE: ride,
    Drum.CHINA: china,
    Drum.RIDE_BELL: ride_bell,
    Drum.TAMBOURINE: tambourine,
    Drum.SPLASH: splash,
    Drum.COWBELL: cowbell,
    Drum.BONGO: bongo,
    Drum.CONGA_HIGH: conga_high,
    Drum.CONGA_LOW: conga_low,
    Drum.SHAKER: shaker,
}

# Balance inside a kit: how loud each voice sits relative to the kick at full velocity.
VOICE_LEVEL: dict[Drum, float] = {
    Drum.KICK: 1.0,
    Drum.SNARE: 0.85,
    Drum.CLAP: 0.7,
    Drum.RIM: 0.5,
    Drum.SNAP: 0.5,
    Drum.HAT_CLOSED: 0.4,
    Drum.HAT_PEDAL: 0.35,
    Drum.HAT_OPEN: 0.4,
    Drum.CRASH: 0.5,
    Drum.SPLASH: 0.4,
    Drum.CHINA: 0.45,
    Drum.RIDE: 0.4,
    Drum.RIDE_BELL: 0.4,
    Drum.TOM_LOW: 0.8,
    Drum.TOM_MID: 0.75,
    Drum.TOM_HIGH: 0.7,
    Drum.SHAKER: 0.3,
    Drum.TAMBOURINE: 0.35,
    Drum.COWBELL: 0.4,
    Drum.CONGA_HIGH: 0.55,
    Drum.CONGA_LOW: 0.6,
    Drum.BONGO: 0.5,
    Drum.TAIKO: 0.95,
    Drum.TIMPANI: 0.8,
    Drum.VINYL_HIT: 0.4,
}


def drum_for_note(pitch: int) -> Drum:
    """The Drum a GM percussion note plays: itself, or the nearest named one."""
    try:
        return Drum(pitch)
    except ValueError:
        return min(Drum, key=lambda drum: (abs(int(drum) - pitch), int(drum)))


def drum_hit(
    kit: SynthKit, drum: Drum, velocity: float, sample_rate_hz: int, rng: np.random.Generator
) -> np.ndarray:
    """One hit of ``drum`` in ``kit``: mono float32 at the kit's balance (kick peaks at 1),
    finite, ending in silence. ``velocity`` in (0, 1] shapes the timbre (softer is darker)."""
    character = KITS[kit]
    hit = Hit(character, min(max(velocity, 0.01), 1.0), rng, sample_rate_hz)
    audio = VOICES[drum](hit)
    sr = sample_rate_hz
    brightness = 3000.0 * (18000.0 / 3000.0) ** hit.velocity
    if brightness < 0.4 * sr:
        audio = lowpass(audio, brightness, sr)
    if character.lowpass_hz is not None:
        audio = lowpass(audio, character.lowpass_hz, sr, order=4)
    if character.drive > 1.0:
        audio = soft_clip(normalise(audio), character.drive)
    if character.crunch_bits is not None:
        steps = float(2 ** (character.crunch_bits - 1))
        audio = np.round(normalise(audio) * steps) / np.float32(steps)
    fade_n = min(len(audio), 64)
    audio = normalise(audio, VOICE_LEVEL[drum])
    audio[-fade_n:] *= np.linspace(1.0, 0.0, fade_n, dtype=np.float32)
    return np.nan_to_num(audio.astype(np.float32, copy=False), nan=0.0, posinf=0.0, neginf=0.0)
