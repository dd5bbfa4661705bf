"""The schema every genre style file must satisfy. A style is data: adding a genre means adding
a YAML file under ``styles/data`` that validates against :class:`Style`.

Patterns and patches are named here (enums) so a style file cannot ask for something the
composer or renderer does not implement; the composer implements every ``*Pattern`` member and
the renderer every ``SynthPatch``/``SynthKit`` member."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from songforge.compose.score import PartRole, SectionKind
from songforge.theory import Mode, TimeSignature


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Feel(StrEnum):
    STRAIGHT = "straight"
    SWING = "swing"  # swung 8ths (jazz, blues shuffle uses SHUFFLE)
    SHUFFLE = "shuffle"  # triplet swing
    SWING_16 = "swing_16"  # swung 16ths (house, hip-hop, lo-fi, funk)
    HALF_TIME = "half_time"  # snare on 3 (trap, dnb breakdowns)
    RUBATO = "rubato"  # no hard grid (ambient, cinematic)


class SoundSource(StrEnum):
    SYNTH = "synth"  # built-in synthesizer, no data file needed
    SOUNDFONT = "soundfont"  # General MIDI SoundFont via tinysoundfont


class SynthPatch(StrEnum):
    """Built-in synthesizer voices (render/synth implements each)."""

    SAW_LEAD = "saw_lead"
    SQUARE_LEAD = "square_lead"
    SUPERSAW = "supersaw"
    PLUCK = "pluck"
    BELL = "bell"
    WARM_PAD = "warm_pad"
    STRING_PAD = "string_pad"
    GLASS_PAD = "glass_pad"
    ELECTRIC_PIANO = "electric_piano"
    PIANO = "piano"
    ORGAN = "organ"
    CLAV = "clav"
    ACID_BASS = "acid_bass"
    SUB_BASS = "sub_bass"
    REESE_BASS = "reese_bass"
    FM_BASS = "fm_bass"
    FINGER_BASS = "finger_bass"
    UPRIGHT_BASS = "upright_bass"
    BASS_808 = "bass_808"
    DISTORTED_GUITAR = "distorted_guitar"  # high-gain amp (metal)
    OVERDRIVEN_GUITAR = "overdriven_guitar"  # a cranked tube amp's crunch (blues, rock)
    CLEAN_GUITAR = "clean_guitar"
    ACOUSTIC_GUITAR = "acoustic_guitar"
    BANJO = "banjo"
    STRINGS = "strings"
    BRASS = "brass"
    CHOIR = "choir"
    FLUTE = "flute"
    NOISE_FX = "noise_fx"  # risers, sweeps, impacts
    VINYL = "vinyl"  # crackle bed


class SynthKit(StrEnum):
    """Built-in synthesized drum kits."""

    ACOUSTIC = "acoustic"
    ROCK = "rock"
    ELECTRONIC = "electronic"
    TR808 = "tr808"
    TR909 = "tr909"
    BREAKBEAT = "breakbeat"
    BRUSH = "brush"
    LOFI = "lofi"
    ORCHESTRAL = "orchestral"  # taiko, timpani, cymbal swells


class BassPattern(StrEnum):
    ROOT_EIGHTHS = "root_eighths"  # rock/punk: root 8ths, passing tone into changes
    ROOT_QUARTERS = "root_quarters"
    ROOT_FIFTH = "root_fifth"  # country boom-chick
    OFFBEAT_EIGHTHS = "offbeat_eighths"  # house/trance
    ROLLING_SIXTEENTHS = "rolling_sixteenths"  # techno/trance
    OCTAVE_PULSE = "octave_pulse"  # synthwave/disco octaves in 8ths
    SYNCOPATED = "syncopated"  # pop/funk: root/fifth/octave on a syncopated grid
    FUNK_SIXTEENTHS = "funk_sixteenths"  # slap syncopation, ghost notes, "the one"
    WALKING = "walking"  # jazz/blues quarter-note walk through chord and approach tones
    BOOGIE = "boogie"  # blues 1-3-5-6-b7
    FOLLOW_KICK = "follow_kick"  # hip-hop/trap/dnb: notes where the kick is, 808 glides optional
    SUSTAINED = "sustained"  # long roots (reese, sub, pads), one per chord
    DRONE = "drone"  # ambient/cinematic root+fifth pedal
    RIFF = "riff"  # metal: palm-muted root 8ths/16ths following the guitar riff


class ChordPattern(StrEnum):
    POWER_EIGHTHS = "power_eighths"  # power chords in driving 8ths
    POWER_SUSTAIN = "power_sustain"  # power chords held, re-struck per chord
    PALM_MUTED_RIFF = "palm_muted_riff"  # metal chug on the root with accents
    STRUM = "strum"  # acoustic/clean strumming pattern (down/up 8ths or 16ths)
    STABS = "stabs"  # short chord stabs on offbeats (house, funk horns, ska)
    SYNCOPATED_STABS = "syncopated_stabs"
    COMP = "comp"  # jazz/lofi shell voicings, syncopated
    BLOCK = "block"  # block chords on each beat or half-bar (pop piano)
    SUSTAINED = "sustained"  # whole-chord pads
    GATED = "gated"  # 16th-gated pad (trance)
    ARPEGGIO = "arpeggio"  # broken chord, 8ths/16ths, up/down
    BROKEN = "broken"  # piano ballad broken chords
    OSTINATO = "ostinato"  # cinematic strings ostinato on chord tones
    SCRATCH = "scratch"  # funk muted 16th guitar
    SHUFFLE = "shuffle"  # blues boogie: root-fifth / root-sixth dyads rocking in eighths


class LeadPattern(StrEnum):
    MELODY = "melody"  # the composition's melody
    HOOK_ONLY = "hook_only"  # only the hook, chorus/drop sections
    COUNTER = "counter"  # the counter-melody
    FILLS = "fills"  # answer phrases between melody phrases (blues guitar, sax)
    RIFF = "riff"  # a repeated 1–2 bar riff built from the hook


class FxPattern(StrEnum):
    TRANSITIONS = "transitions"  # risers before sections, impacts/crashes on downbeats
    TEXTURE = "texture"  # a continuous bed (vinyl crackle, noise wash)


class InstrumentSpec(_Frozen):
    """Which sound plays a part: a GM program for SoundFonts, a built-in patch for the synth."""

    source: SoundSource = SoundSource.SYNTH
    gm_program: Annotated[int, Field(ge=0, le=127)] | None = None  # 0-based GM program
    gm_bank: Annotated[int, Field(ge=0, le=128)] = 0  # 128 = drum kits
    gm_drum_kit: Annotated[int, Field(ge=0, le=127)] | None = None  # bank-128 preset (drums)
    synth: SynthPatch | None = None
    synth_kit: SynthKit | None = None

    @model_validator(mode="after")
    def _has_a_sound(self) -> InstrumentSpec:
        if self.synth is None and self.synth_kit is None:
            raise ValueError("an instrument needs a synth patch or a synth kit as fallback")
        if (
            self.source is SoundSource.SOUNDFONT
            and self.gm_program is None
            and self.gm_drum_kit is None
        ):
            raise ValueError("a soundfont instrument needs gm_program or gm_drum_kit")
        return self


class CompressorSettings(_Frozen):
    threshold_db: float = -18.0
    ratio: float = 3.0
    attack_ms: float = 10.0
    release_ms: float = 120.0


class PartMix(_Frozen):
    """Where a part sits: level relative to the kick, pan, EQ, dynamics and sends."""

    gain_db: float = -6.0
    pan: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.0
    width: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0  # stereo spread (0 = mono source)
    highpass_hz: float | None = None
    lowpass_hz: float | None = None
    eq: tuple[EqBand, ...] = ()
    compressor: CompressorSettings | None = None
    drive_db: float = 0.0  # saturation/distortion amount
    reverb_send: Annotated[float, Field(ge=0.0, le=1.0)] = 0.1
    delay_send: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    sidechain_db: Annotated[float, Field(ge=0.0, le=18.0)] = 0.0  # duck depth keyed to the kick
    chorus: bool = False
    bitcrush: bool = False  # lo-fi grit


class EqBand(_Frozen):
    kind: Literal["peak", "low_shelf", "high_shelf"] = "peak"
    frequency_hz: float
    gain_db: float
    q: float = 1.0


class ReverbSettings(_Frozen):
    room_size: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    damping: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    pre_delay_ms: float | None = None  # None: 60000/bpm/16
    gated: bool = False  # 80s gated reverb on the send


class DelaySettings(_Frozen):
    note: Literal["eighth", "dotted_eighth", "quarter", "dotted_quarter", "half"] = "dotted_eighth"
    feedback: Annotated[float, Field(ge=0.0, le=0.9)] = 0.3


class MasterSettings(_Frozen):
    target_lufs: float = -14.0
    true_peak_dbtp: float = -1.0
    bus_compressor: CompressorSettings = CompressorSettings(
        threshold_db=-14.0, ratio=2.0, attack_ms=30.0, release_ms=200.0
    )
    low_shelf_db: float = 0.0  # tilt the master: +bass
    high_shelf_db: float = 0.0  # tilt the master: +air
    saturation_db: float = 0.0  # soft-clip drive before the limiter
    lofi: bool = False  # tape wobble + low-pass on the master (lo-fi)


class MixSettings(_Frozen):
    reverb: ReverbSettings = ReverbSettings()
    delay: DelaySettings = DelaySettings()
    master: MasterSettings = MasterSettings()
    sidechain_release_ms: float = 150.0


# PartMix references EqBand before its definition
PartMix.model_rebuild()


class PartSpec(_Frozen):
    """One part of the arrangement: its role, the pattern it plays, its sound and its mix."""

    name: str
    role: PartRole
    pattern: str | None = None  # a BassPattern/ChordPattern/LeadPattern/FxPattern, by role
    instrument: InstrumentSpec
    pitch_range: tuple[int, int] | None = None  # lowest and highest MIDI pitch
    min_energy: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0  # plays in sections at or above
    sections: tuple[SectionKind, ...] | None = None  # plays only in these (None: by energy)
    velocity: Annotated[int, Field(ge=1, le=127)] = 96
    mix: PartMix = PartMix()

    @model_validator(mode="after")
    def _pattern_fits_role(self) -> PartSpec:
        allowed: type[StrEnum] | None = {
            PartRole.BASS: BassPattern,
            PartRole.CHORDS: ChordPattern,
            PartRole.PAD: ChordPattern,
            PartRole.ARP: ChordPattern,
            PartRole.LEAD: LeadPattern,
            PartRole.COUNTER: LeadPattern,
            PartRole.FX: FxPattern,
        }.get(self.role)
        if allowed is None:
            if self.pattern is not None:
                raise ValueError(
                    f"role {self.role.value} takes no pattern (grooves say what drums play)"
                )
            return self
        if self.pattern is None:
            raise ValueError(
                f"role {self.role.value} needs a pattern: one of {[m.value for m in allowed]}"
            )
        if self.pattern not in {m.value for m in allowed}:
            raise ValueError(
                f"pattern {self.pattern!r} is not a {allowed.__name__}: "
                f"{[m.value for m in allowed]}"
            )
        if self.pitch_range is not None and not (
            0 <= self.pitch_range[0] < self.pitch_range[1] <= 127
        ):
            raise ValueError("pitch_range must be (low, high) MIDI pitches with low < high")
        return self


DrumVoiceName = Literal[
    "kick",
    "snare",
    "clap",
    "rim",
    "hat_closed",
    "hat_open",
    "hat_pedal",
    "ride",
    "ride_bell",
    "crash",
    "china",
    "splash",
    "tom_high",
    "tom_mid",
    "tom_low",
    "shaker",
    "tambourine",
    "cowbell",
    "conga_high",
    "conga_low",
    "bongo",
    "timpani",
    "taiko",
    "snap",
    "vinyl_hit",
]


class Groove(_Frozen):
    """A drum pattern on a 16th-note grid: one string per voice, one character per step.

    ``x`` hit, ``X`` accent, ``g`` ghost, ``.`` rest; rolls (trap hi-hats): ``r`` two 32nds in
    the step, and a run of ``t`` steps filled with 16th-note triplets (three hits per eighth),
    both rising in velocity through the run. A string is one or more bars long (its length a
    multiple of the bar's steps: 16 for 4/4, 12 for 3/4 and 6/8)."""

    voices: dict[DrumVoiceName, str]

    @field_validator("voices")
    @classmethod
    def _steps(cls, voices: dict[str, str]) -> dict[str, str]:
        if not voices:
            raise ValueError("a groove needs at least one voice")
        for name, steps in voices.items():
            if not steps or set(steps) - set("xXgrt."):
                raise ValueError(f"voice {name}: steps use only x X g r t . ({steps!r})")
        return voices


class DrumSpec(_Frozen):
    """The drum part: its kit, grooves by name, which groove each section kind plays, fills."""

    instrument: InstrumentSpec
    grooves: dict[str, Groove]
    section_grooves: dict[SectionKind, str]  # section kind → groove name; missing → "main"
    fills: tuple[Groove, ...] = ()  # one-bar fills replacing a section's last bar
    fill_every_bars: int = (
        8  # a fill at the end of each phrase of this many bars, and at section ends
    )
    humanize_ms: Annotated[float, Field(ge=0.0, le=60.0)] = 6.0  # shared kit drift
    velocity_spread: Annotated[int, Field(ge=0, le=30)] = 10
    crash_on_section_start: bool = True
    mix: PartMix = PartMix(gain_db=0.0, reverb_send=0.08)
    voice_gain_db: dict[DrumVoiceName, float] = {}  # per-voice balance within the kit

    @model_validator(mode="after")
    def _references(self) -> DrumSpec:
        for kind, name in self.section_grooves.items():
            if name not in self.grooves:
                raise ValueError(f"section_grooves[{kind.value}] names unknown groove {name!r}")
        if "main" not in self.grooves and not self.section_grooves:
            raise ValueError("grooves need a 'main' or section_grooves must map every section")
        return self


class HarmonySpec(_Frozen):
    """The harmonic vocabulary: progressions as Roman numerals per tonality."""

    # Roman numerals, case gives quality (I major, vi minor), suffixes 7, maj7, m7, 9, sus2, sus4,
    # 5 (power), dim, ø7, add9; flats as bVII; slash bass as I/3 is not supported.
    progressions_major: tuple[tuple[str, ...], ...] = ()
    progressions_minor: tuple[tuple[str, ...], ...] = ()
    chorus_progressions_major: tuple[tuple[str, ...], ...] = ()  # default: from progressions
    chorus_progressions_minor: tuple[tuple[str, ...], ...] = ()
    chords_per_bar: float = 1.0  # harmonic rhythm: 0.25, 0.5, 1 or 2; 0.5 = one chord per 2 bars
    extensions: Literal["triads", "sevenths", "power", "rich"] = "triads"
    twelve_bar_blues: bool = False  # the form is 12-bar choruses

    @model_validator(mode="after")
    def _some(self) -> HarmonySpec:
        if self.chords_per_bar not in (0.25, 0.5, 1.0, 2.0):
            raise ValueError("chords_per_bar must be 0.25, 0.5, 1 or 2")
        if not self.progressions_major and not self.progressions_minor:
            raise ValueError("give at least one progression (major or minor)")
        return self


class FormSpec(_Frozen):
    """Song form: the default section order, bars per section kind, and its energy curve."""

    sections: tuple[SectionKind, ...]
    bars: dict[SectionKind, int]
    energy: dict[SectionKind, Annotated[float, Field(ge=0.0, le=1.0)]]
    phrase_bars: int = 4  # sections are sized in multiples of this
    ending: Literal["ring", "fade", "hit"] = "ring"  # final chord rings / fades / hit and decay

    @model_validator(mode="after")
    def _covers(self) -> FormSpec:
        missing = {k for k in self.sections if k not in self.bars}
        if missing:
            raise ValueError(f"bars missing for {sorted(m.value for m in missing)}")
        return self


class MelodySpec(_Frozen):
    """How the lead melody moves: register, density and rhythmic character."""

    pitch_range: tuple[int, int] = (60, 79)
    notes_per_bar: tuple[float, float] = (2.0, 6.0)  # sparse .. dense, scaled by energy
    rest_probability: Annotated[float, Field(ge=0.0, le=0.9)] = 0.2
    syncopation: Annotated[float, Field(ge=0.0, le=1.0)] = 0.3
    step_probability: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    leap_probability: Annotated[float, Field(ge=0.0, le=1.0)] = 0.25
    chorus_lift_semitones: int = 4
    motif_bars: Literal[1, 2] = 2
    scale: Literal["mode", "pentatonic", "blues"] = "mode"


class Style(_Frozen):
    """A genre, completely described as data."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    description: str
    aliases: tuple[str, ...] = ()  # words that name this genre outright
    tags: tuple[str, ...] = ()  # words that evoke it (instruments, moods, eras, places)
    moods: tuple[str, ...] = ()  # moods it carries well
    energy: Annotated[float, Field(ge=0.0, le=1.0)] = 0.6  # typical intensity
    tempo_bpm: tuple[float, float]
    default_tempo_bpm: float
    feel: Feel = Feel.STRAIGHT
    swing: Annotated[float, Field(ge=0.0, le=0.75)] = 0.0  # 0 straight, 0.33 triplet swing
    time_signatures: tuple[TimeSignature, ...] = (TimeSignature.FOUR_FOUR,)
    duration_s: tuple[float, float] = (180.0, 300.0)  # typical length; default is the middle
    modes: dict[Mode, float] = {Mode.MAJOR: 0.5, Mode.MINOR: 0.5}  # mode → weight
    tonics: tuple[str, ...] = ("C", "D", "E", "F", "G", "A")
    form: FormSpec
    harmony: HarmonySpec
    melody: MelodySpec = MelodySpec()
    drums: DrumSpec | None = None  # None: no drum kit (ambient)
    parts: tuple[PartSpec, ...]
    mix: MixSettings = MixSettings()

    @model_validator(mode="after")
    def _consistent(self) -> Style:
        low, high = self.tempo_bpm
        if not (40 <= low <= high <= 240):
            raise ValueError("tempo_bpm must be (low, high) within 40..240")
        if not (low <= self.default_tempo_bpm <= high):
            raise ValueError("default_tempo_bpm must lie within tempo_bpm")
        if not (30 <= self.duration_s[0] <= self.duration_s[1] <= 600):
            raise ValueError("duration_s must be (low, high) within 30..600")
        names = [p.name for p in self.parts]
        if len(names) != len(set(names)) or "drums" in names:
            raise ValueError("part names must be unique and not 'drums' (the drum part's name)")
        roles = {p.role for p in self.parts}
        if PartRole.LEAD not in roles:
            raise ValueError("a style needs a lead part (role: lead) to carry the melody")
        if not self.modes or any(w < 0 for w in self.modes.values()):
            raise ValueError("modes must give non-negative weights")
        return self

    @property
    def default_duration_s(self) -> float:
        return (self.duration_s[0] + self.duration_s[1]) / 2.0
