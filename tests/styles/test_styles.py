"""The genre style files: each one a complete, valid, musical description of its genre.

Every style file under ``styles/data`` is checked here; the per-style checks are the
specification a new genre file has to meet too."""

from __future__ import annotations

import copy
import re
from functools import cache
from importlib import resources
from pathlib import Path

import pytest
import yaml

from songforge.compose.score import PartRole, SectionKind
from songforge.errors import StyleFileError
from songforge.styles.catalog import StyleCatalog, _normalise, default_catalog, load_style_file
from songforge.styles.schema import DrumSpec, SoundSource, Style
from songforge.theory import Mode, TimeSignature

DATA_DIR = Path(str(resources.files("songforge.styles") / "data"))
STYLE_FILES = sorted(DATA_DIR.glob("*.yaml"))

REQUIRED_IDS = (
    "rock", "punk", "metal", "pop", "house", "techno", "trance", "drum_and_bass", "synthwave",
    "hip_hop", "trap", "lofi", "ambient", "jazz", "funk", "blues", "country", "cinematic",
)  # fmt: skip

# bpm ranges from the table in /work/shared/composition.md; a style may widen them, and its
# default tempo must lie inside them.
COMPOSITION_TEMPO_BPM = {
    "rock": (100, 150),
    "metal": (90, 200),
    "punk": (160, 200),
    "pop": (95, 128),
    "house": (118, 128),
    "techno": (125, 140),
    "trance": (132, 140),
    "drum_and_bass": (170, 176),
    "synthwave": (80, 118),
    "hip_hop": (84, 96),
    "trap": (130, 150),
    "lofi": (70, 90),
    "ambient": (50, 80),
    "jazz": (90, 220),
    "funk": (95, 115),
    "blues": (60, 130),
    "country": (80, 130),
    "cinematic": (60, 140),
}

DANCE = ("house", "techno", "trance", "drum_and_bass")
SIDECHAINED = ("house", "techno", "trance", "drum_and_bass", "synthwave")
PUMPING = ("house", "trance")
MINOR_LEANING = ("house", "techno", "trance", "drum_and_bass", "trap", "synthwave", "metal")
MAJOR_LEANING = ("country", "pop", "funk", "punk")
HUMANIZE_MS = {  # shared kit drift by family (composition.md: "Humanise")
    **dict.fromkeys(("house", "techno", "trance", "drum_and_bass", "trap"), (2.0, 5.0)),
    **dict.fromkeys(("rock", "punk", "metal"), (6.0, 10.0)),
    **dict.fromkeys(("jazz", "lofi"), (15.0, 30.0)),
}

# Words that name no genre: an alias must denote its genre outright.
COMMON_WORDS = {
    "bass", "drums", "drum", "guitar", "piano", "music", "song", "songs", "beat", "beats",
    "chill", "dance", "electronic", "happy", "sad", "dark", "epic", "slow", "fast", "heavy",
    "soft", "loud", "classic", "modern", "old", "new", "band", "instrumental", "night", "party",
    "love", "summer", "minimal", "western", "shuffle", "groove", "funky", "score", "orchestra",
    "atmospheric", "retro", "vintage", "hard", "deep", "acid", "live", "oi", "edm",
}  # fmt: skip

# Names every other module and user may rely on, and the style each must reach.
KNOWN_ALIASES = {
    "dnb": "drum_and_bass",
    "drum n bass": "drum_and_bass",
    "drum & bass": "drum_and_bass",
    "Drum and Bass": "drum_and_bass",
    "jungle": "drum_and_bass",
    "hip hop": "hip_hop",
    "hip-hop": "hip_hop",
    "boom bap": "hip_hop",
    "lo-fi": "lofi",
    "lofi hip hop": "lofi",
    "heavy metal": "metal",
    "thrash": "metal",
    "hard rock": "metal",
    "deep house": "house",
    "tech house": "house",
    "acid techno": "techno",
    "outrun": "synthwave",
    "retrowave": "synthwave",
    "bebop": "jazz",
    "swing": "jazz",
    "pop punk": "punk",
    "bluegrass": "country",
    "folk": "country",
    "orchestral": "cinematic",
    "film score": "cinematic",
    "psytrance": "trance",
    "drill": "trap",
    "chillhop": "lofi",
    "p-funk": "funk",
    "delta blues": "blues",
    "grunge": "rock",
}

NUMERAL = re.compile(
    r"^(?P<accidental>b|#)?(?P<numeral>VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)"
    r"(?P<suffix>°|ø7|maj7|m7|7|m9|9|sus2|sus4|5|dim|add9)?$"
)
_DEGREE = {"i": 0, "ii": 1, "iii": 2, "iv": 3, "v": 4, "vi": 5, "vii": 6}
TWELVE_BAR_BLUES = ("I7", "I7", "I7", "I7", "IV7", "IV7", "I7", "I7", "V7", "IV7", "I7", "V7")


@cache
def _styles() -> dict[str, Style]:
    """Every installed style by id (read once, through the package's own catalog)."""
    return {style.id: style for style in default_catalog()}


def _style_params(*, xfail: dict[str, str] | None = None) -> list[object]:
    xfail = xfail or {}
    return [
        pytest.param(stem, id=stem, marks=[pytest.mark.xfail(reason=xfail[stem])])
        if stem in xfail
        else pytest.param(stem, id=stem)
        for stem in (p.stem for p in STYLE_FILES)
    ]


def _all_grooves(drums: DrumSpec) -> list[tuple[str, dict[str, str]]]:
    named = [(name, g.voices) for name, g in drums.grooves.items()]
    return named + [(f"fill {i}", g.voices) for i, g in enumerate(drums.fills)]


def _groove_for(drums: DrumSpec, kind: SectionKind) -> str | None:
    name = drums.section_grooves.get(kind, "main")
    return name if name in drums.grooves else None


def _form_beats(style: Style) -> float:
    beats_per_bar = style.time_signatures[0].beats_per_bar
    return sum(style.form.bars[kind] for kind in style.form.sections) * beats_per_bar


def _chord_pitch_classes(numeral: str, scale: tuple[int, ...]) -> set[int]:
    """The triad (or sus/power shape) of an accidental-free numeral built on ``scale``."""
    match = NUMERAL.match(numeral)
    assert match is not None and not match["accidental"]
    roman, suffix = match["numeral"], match["suffix"] or ""
    root = scale[_DEGREE[roman.lower()]]
    if suffix in ("°", "dim", "ø7"):
        shape: tuple[int, ...] = (0, 3, 6)
    elif suffix in ("sus2", "sus4"):
        shape = (0, 2, 7) if suffix == "sus2" else (0, 5, 7)
    elif suffix == "5":
        shape = (0, 7)
    else:
        shape = (0, 4, 7) if roman.isupper() else (0, 3, 7)
    return {(root + step) % 12 for step in shape}


# -- the directory -----------------------------------------------------------------------------


@pytest.mark.parametrize("stem", _style_params())
def test_every_style_file_validates_and_is_named_after_its_id(stem: str) -> None:
    assert stem in _styles()  # the catalog validated every file; its id names the file
    assert len(_styles()) == len(STYLE_FILES)


def test_all_required_genres_are_installed() -> None:
    ids = default_catalog().ids()
    assert set(REQUIRED_IDS) <= set(ids)
    assert len(ids) >= len(REQUIRED_IDS)


def test_every_id_name_and_alias_belongs_to_one_style_only() -> None:
    owner: dict[str, str] = {}
    clashes = []
    for style in _styles().values():
        for name in {_normalise(n) for n in (style.id, style.name, *style.aliases)}:
            if name in owner and owner[name] != style.id:
                clashes.append(f"{name!r}: {owner[name]} and {style.id}")
            owner.setdefault(name, style.id)
    assert not clashes


@pytest.mark.parametrize(("name", "style_id"), sorted(KNOWN_ALIASES.items()))
def test_genre_names_resolve_to_their_style(name: str, style_id: str) -> None:
    assert default_catalog().resolve(name).id == style_id


@pytest.mark.parametrize("stem", _style_params())
def test_aliases_are_genre_names_not_common_words(stem: str) -> None:
    style = _styles()[stem]
    plain = {a for a in style.aliases if _normalise(a) in COMMON_WORDS}
    assert not plain
    assert all(_normalise(a) != "rock" for a in style.aliases) or style.id == "rock"


@pytest.mark.parametrize("stem", _style_params())
def test_tags_are_20_to_40_distinct_lowercase_words(stem: str) -> None:
    tags = _styles()[stem].tags
    assert 20 <= len(tags) <= 40
    assert len(set(tags)) == len(tags)
    assert all(t == t.lower().strip() and t for t in tags)


# -- tempo, meter, length, key -----------------------------------------------------------------


@pytest.mark.parametrize("stem", _style_params())
def test_tempo_matches_the_composition_table(stem: str) -> None:
    style = _styles()[stem]
    low, high = COMPOSITION_TEMPO_BPM[style.id]
    assert low <= style.default_tempo_bpm <= high
    assert style.tempo_bpm[0] <= low and style.tempo_bpm[1] >= high  # may widen, not narrow


@pytest.mark.parametrize("stem", _style_params())
def test_songs_last_150_to_300_seconds_and_the_form_fits(stem: str) -> None:
    style = _styles()[stem]
    low, high = style.duration_s
    assert 150 <= low < high <= 300
    if style.id == "punk":
        assert high <= 200
    form_s = _form_beats(style) * 60.0 / style.default_tempo_bpm
    assert 0.75 <= form_s / style.default_duration_s <= 1.3


@pytest.mark.parametrize("stem", _style_params())
def test_meter_starts_with_four_four(stem: str) -> None:
    meters = _styles()[stem].time_signatures
    assert meters[0] is TimeSignature.FOUR_FOUR
    assert len(set(meters)) == len(meters)


@pytest.mark.parametrize("style_id", MINOR_LEANING)
def test_dark_dance_and_heavy_styles_lean_minor(style_id: str) -> None:
    modes = _styles()[style_id].modes
    minor = sum(w for m, w in modes.items() if m.is_minor)
    assert minor > sum(modes.values()) - minor


@pytest.mark.parametrize("style_id", MAJOR_LEANING)
def test_bright_styles_lean_major(style_id: str) -> None:
    modes = _styles()[style_id].modes
    minor = sum(w for m, w in modes.items() if m.is_minor)
    assert minor < sum(modes.values()) - minor


# -- form --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", _style_params())
def test_every_section_kind_has_bars_energy_and_a_groove(stem: str) -> None:
    """All kinds, not only the default form's, so a user-given structure always works."""
    style = _styles()[stem]
    for kind in SectionKind:
        assert style.form.bars.get(kind, 0) > 0, kind
        assert kind in style.form.energy, kind
        if style.drums is not None:
            assert _groove_for(style.drums, kind) is not None, kind


@pytest.mark.parametrize("stem", _style_params())
def test_sections_are_whole_phrases_and_the_energy_arcs(stem: str) -> None:
    form = _styles()[stem].form
    for kind in set(form.sections) - {SectionKind.INTRO, SectionKind.OUTRO}:
        assert form.bars[kind] % form.phrase_bars == 0, kind
    energies = [form.energy[k] for k in form.sections]
    assert max(energies) > energies[0]  # the song rises from its intro
    assert max(energies) >= 0.4


@pytest.mark.parametrize("style_id", DANCE)
def test_dance_music_builds_and_drops_in_eight_bar_blocks(style_id: str) -> None:
    form = _styles()[style_id].form
    assert form.phrase_bars == 8
    assert {SectionKind.BUILD, SectionKind.DROP, SectionKind.BREAKDOWN} <= set(form.sections)
    assert all(bars % 8 == 0 for bars in form.bars.values())
    assert form.energy[SectionKind.DROP] == max(form.energy[k] for k in form.sections)
    assert form.energy[SectionKind.BREAKDOWN] < form.energy[SectionKind.BUILD]


def test_blues_is_twelve_bar_choruses() -> None:
    style = _styles()["blues"]
    assert style.harmony.twelve_bar_blues
    assert TWELVE_BAR_BLUES in style.harmony.progressions_major
    assert style.form.phrase_bars == 12
    for kind in (SectionKind.VERSE, SectionKind.SOLO, SectionKind.CHORUS):
        assert style.form.bars[kind] % 12 == 0
    assert style.feel.value == "shuffle"
    assert style.melody.scale == "blues"


def test_jazz_plays_head_solos_head_in_swing() -> None:
    style = _styles()["jazz"]
    sections = style.form.sections
    assert sections.count(SectionKind.VERSE) >= 2 and SectionKind.SOLO in sections
    assert sections.index(SectionKind.SOLO) > sections.index(SectionKind.VERSE)
    assert sections[-2] is SectionKind.VERSE or sections[-1] is SectionKind.VERSE  # head out
    assert style.time_signatures[:2] == (TimeSignature.FOUR_FOUR, TimeSignature.THREE_FOUR)
    assert style.feel.value == "swing" and style.swing > 0
    assert style.harmony.extensions in ("sevenths", "rich")


def test_ambient_is_long_quiet_and_drumless() -> None:
    style = _styles()["ambient"]
    assert style.drums is None
    assert all(style.form.bars[k] >= 16 for k in style.form.sections if k is not SectionKind.OUTRO)
    assert max(style.form.energy.values()) <= 0.5
    assert style.harmony.chords_per_bar <= 0.5
    assert style.mix.reverb.room_size >= 0.85


# -- harmony -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", _style_params())
def test_progressions_are_roman_numerals_the_composer_parses(stem: str) -> None:
    harmony = _styles()[stem].harmony
    for group in (
        harmony.progressions_major,
        harmony.progressions_minor,
        harmony.chorus_progressions_major,
        harmony.chorus_progressions_minor,
    ):
        for progression in group:
            assert progression, "empty progression"
            bad = [n for n in progression if not NUMERAL.match(n)]
            assert not bad


@pytest.mark.parametrize("stem", _style_params())
def test_styles_give_progressions_for_both_tonalities(stem: str) -> None:
    harmony = _styles()[stem].harmony
    assert harmony.progressions_major and harmony.progressions_minor
    assert len(harmony.progressions_major) + len(harmony.progressions_minor) >= 5


@pytest.mark.parametrize("stem", _style_params())
def test_diatonic_chords_stay_diatonic_in_every_mode_the_style_uses(stem: str) -> None:
    """A chord that fits natural major/minor must fit each mode of that tonality the style picks
    (dorian has no iv or VI, lydian no IV, mixolydian no V), however the numeral is read."""
    style, harmony = _styles()[stem], _styles()[stem].harmony
    for mode in style.modes:
        parent = Mode.MINOR if mode.is_minor else Mode.MAJOR
        groups = (
            (harmony.progressions_minor, harmony.chorus_progressions_minor)
            if mode.is_minor
            else (harmony.progressions_major, harmony.chorus_progressions_major)
        )
        scale = set(mode.intervals)
        for numeral in {n for group in groups for prog in group for n in prog}:
            match = NUMERAL.match(numeral)
            if match is None or match["accidental"]:
                continue  # unparseable (another test says so) or a deliberate borrowing
            if not _chord_pitch_classes(numeral, parent.intervals) <= set(parent.intervals):
                continue  # chromatic in the tonality already (V in minor, II7, IV7 in minor)
            for root_scale in (parent.intervals, mode.intervals):
                assert _chord_pitch_classes(numeral, root_scale) <= scale, (mode, numeral)


@pytest.mark.parametrize("style_id", ("metal", "punk"))
def test_heavy_guitar_styles_play_power_chords(style_id: str) -> None:
    assert _styles()[style_id].harmony.extensions == "power"


# -- drums -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", _style_params())
def test_grooves_sit_on_the_sixteen_step_grid(stem: str) -> None:
    drums = _styles()[stem].drums
    if drums is None:
        return
    for name, voices in _all_grooves(drums):
        lengths = {len(steps) for steps in voices.values()}
        assert len(lengths) == 1, f"{name}: voices of one groove share one length"
        assert lengths.pop() % 16 == 0, name
    assert all(len(steps) == 16 for fill in drums.fills for steps in fill.voices.values())
    assert 2 <= len(drums.fills) <= 4


@pytest.mark.parametrize("stem", _style_params())
def test_the_kit_is_balanced_with_hats_below_the_kick(stem: str) -> None:
    drums = _styles()[stem].drums
    if drums is None:
        return
    used = {voice for _, voices in _all_grooves(drums) for voice in voices}
    for hat in {"hat_closed", "hat_open", "hat_pedal"} & used:
        assert -14 <= drums.voice_gain_db.get(hat, 0.0) <= -8, hat


@pytest.mark.parametrize(("style_id", "bounds"), sorted(HUMANIZE_MS.items()))
def test_humanize_suits_the_genre(style_id: str, bounds: tuple[float, float]) -> None:
    drums = _styles()[style_id].drums
    assert drums is not None
    assert bounds[0] <= drums.humanize_ms <= bounds[1]


@pytest.mark.parametrize("style_id", ("house", "techno", "trance"))
def test_four_on_the_floor(style_id: str) -> None:
    drums = _styles()[style_id].drums
    assert drums is not None
    kick = drums.grooves[drums.section_grooves[SectionKind.DROP]].voices["kick"]
    assert all(kick[step] in "xX" for step in range(0, len(kick), 4))


def test_trap_claps_on_three_in_half_time() -> None:
    style = _styles()["trap"]
    assert style.feel.value == "half_time" and style.drums is not None
    groove = style.drums.grooves[style.drums.section_grooves[SectionKind.VERSE]].voices
    backbeat = groove.get("clap") or groove["snare"]
    assert {i % 16 for i, c in enumerate(backbeat) if c in "xX"} == {8}


def test_cinematic_drums_are_orchestral_percussion() -> None:
    drums = _styles()["cinematic"].drums
    assert drums is not None
    used = {voice for _, voices in _all_grooves(drums) for voice in voices}
    assert {"taiko", "timpani"} <= used
    assert drums.instrument.gm_drum_kit == 48


# -- parts and sounds --------------------------------------------------------------------------


@pytest.mark.parametrize("stem", _style_params())
def test_a_band_of_bass_harmony_one_lead(stem: str) -> None:
    parts = _styles()[stem].parts
    roles = [p.role for p in parts]
    assert roles.count(PartRole.BASS) == 1
    assert 3 <= sum(r in (PartRole.CHORDS, PartRole.PAD, PartRole.ARP) for r in roles) <= 6
    leads = [p for p in parts if p.role is PartRole.LEAD]
    assert len(leads) == 1 and leads[0].pattern == "melody"
    assert all(p.pattern == "counter" for p in parts if p.role is PartRole.COUNTER)
    assert roles.count(PartRole.COUNTER) <= 1


@pytest.mark.parametrize("stem", _style_params())
def test_soundfont_sounds_always_have_a_synth_fallback(stem: str) -> None:
    style = _styles()[stem]
    for part in style.parts:
        if part.instrument.source is SoundSource.SOUNDFONT:
            assert part.instrument.synth is not None, part.name
            assert part.instrument.gm_program is not None, part.name
    if style.drums is not None and style.drums.instrument.source is SoundSource.SOUNDFONT:
        assert style.drums.instrument.synth_kit is not None
        assert style.drums.instrument.gm_bank == 128


@pytest.mark.parametrize("stem", _style_params())
def test_every_part_plays_somewhere_in_the_default_form(stem: str) -> None:
    form = _styles()[stem].form
    for part in _styles()[stem].parts:
        playing = [
            kind
            for kind in form.sections
            if (part.sections is None or kind in part.sections)
            and form.energy[kind] >= part.min_energy
        ]
        assert playing, part.name


@pytest.mark.parametrize("stem", _style_params())
def test_the_lead_can_play_the_whole_melody_range(stem: str) -> None:
    style = _styles()[stem]
    lead = next(p for p in style.parts if p.role is PartRole.LEAD)
    low, high = style.melody.pitch_range
    assert lead.pitch_range is not None
    assert lead.pitch_range[0] <= low and high <= lead.pitch_range[1]


# -- mix ---------------------------------------------------------------------------------------


# Hip-hop and trap mixes put the beat on top and the sample and hook under it, where a rapper
# would be (an instrumental without the rapper still keeps that balance).
BEAT_FORWARD = ("hip_hop", "trap")
BEAT_FORWARD_DB = 8.0


@pytest.mark.parametrize("stem", _style_params())
def test_levels_sit_relative_to_the_kick(stem: str) -> None:
    """composition.md: bass −1..−3, lead −2..−4, pads −6..−10, FX −12..−18 (a little slack),
    measured from the drum bus; a beat-forward style sits its melodic parts lower still."""
    bounds = {
        PartRole.BASS: (-4.0, 0.0),
        PartRole.LEAD: (-6.0, -1.0),
        PartRole.PAD: (-16.0, -5.0),
        PartRole.CHORDS: (-14.0, -3.0),
        PartRole.ARP: (-16.0, -5.0),
        PartRole.COUNTER: (-12.0, -4.0),
        PartRole.FX: (-30.0, -12.0),
    }
    style = _styles()[stem]
    lower = BEAT_FORWARD_DB if stem in BEAT_FORWARD else 0.0
    kick_db = style.drums.mix.gain_db if style.drums is not None else 0.0
    for part in style.parts:
        low, high = bounds[part.role]
        if part.role not in (PartRole.BASS, PartRole.FX):
            low -= lower
        assert low <= part.mix.gain_db - kick_db <= high, part.name


@pytest.mark.parametrize("stem", _style_params())
def test_everything_but_kick_and_bass_is_high_passed(stem: str) -> None:
    for part in _styles()[stem].parts:
        if part.role is not PartRole.BASS:
            assert part.mix.highpass_hz is not None and part.mix.highpass_hz >= 80, part.name


@pytest.mark.parametrize("style_id", SIDECHAINED)
def test_dance_bass_and_pads_duck_under_the_kick(style_id: str) -> None:
    for part in _styles()[style_id].parts:
        if part.role is PartRole.BASS:
            assert part.mix.sidechain_db >= 3, part.name
        if part.role is PartRole.PAD:
            assert part.mix.sidechain_db >= (6 if style_id in PUMPING else 3), part.name


def test_genre_signature_sounds() -> None:
    styles = _styles()
    assert styles["synthwave"].mix.reverb.gated
    assert any(p.mix.chorus for p in styles["synthwave"].parts if p.role is PartRole.PAD)
    assert styles["jazz"].mix.reverb.room_size <= 0.35
    lofi = styles["lofi"]
    assert lofi.mix.master.lofi
    assert any(p.pattern == "texture" and p.instrument.synth == "vinyl" for p in lofi.parts)
    assert any(p.mix.bitcrush for p in lofi.parts if p.role in (PartRole.CHORDS, PartRole.PAD))
    techno = styles["techno"]
    assert any(p.instrument.synth == "acid_bass" for p in techno.parts)
    assert any(p.instrument.synth == "reese_bass" for p in styles["drum_and_bass"].parts)
    assert any(p.instrument.synth == "bass_808" for p in styles["trap"].parts)
    assert any(p.instrument.synth == "supersaw" for p in styles["trance"].parts)
    for style_id in ("house", "techno", "trance", "drum_and_bass", "synthwave"):
        assert all(p.instrument.source is SoundSource.SYNTH for p in styles[style_id].parts)
    for style_id in ("jazz", "blues", "country", "cinematic", "funk", "punk"):
        pitched = [p for p in styles[style_id].parts if p.role is not PartRole.FX]
        assert all(p.instrument.source is SoundSource.SOUNDFONT for p in pitched), style_id
    # trap: the 808 is always the synth's; metal: the doubled rhythm guitars always go through
    # the built-in amp (one amp distorts each chord's notes together), the rest is sampled
    trap_bass = [p for p in styles["trap"].parts if p.role is PartRole.BASS]
    assert all(p.instrument.source is SoundSource.SYNTH for p in trap_bass)
    for part in styles["metal"].parts:
        rhythm = part.name.startswith("rhythm_guitar") or part.name == "wall_guitar"
        if part.role is not PartRole.FX:
            want = SoundSource.SYNTH if rhythm else SoundSource.SOUNDFONT
            assert part.instrument.source is want, part.name
    assert sum(p.name.startswith("rhythm_guitar") for p in styles["metal"].parts) == 2


# -- adding and breaking style files -----------------------------------------------------------


@cache
def _rock_yaml() -> dict[str, object]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load((DATA_DIR / "rock.yaml").read_text(encoding="utf-8"), Loader=loader)


def _rock_as(**changes: object) -> dict[str, object]:
    """rock.yaml as data, with some fields changed (a fresh copy each time)."""
    raw = copy.deepcopy(_rock_yaml())
    raw.update(changes)
    return raw


def test_adding_a_genre_is_adding_a_file(tmp_path: Path) -> None:
    (tmp_path / "surf.yaml").write_text(
        yaml.safe_dump(_rock_as(id="surf", name="Surf Rock", aliases=["surf", "surf rock"])),
        encoding="utf-8",
    )
    (tmp_path / "rock.yaml").write_text((DATA_DIR / "rock.yaml").read_text(), encoding="utf-8")
    catalog = StyleCatalog.from_directory(tmp_path)
    assert catalog.ids() == ["rock", "surf"]
    assert catalog.resolve("Surf-Rock").id == "surf"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tempo_bpm": [150, 100]}, "tempo_bpm"),
        ({"default_tempo_bpm": "fast"}, "default_tempo_bpm"),
        ({"feel": "wobbly"}, "feel"),
        ({"form": {"sections": ["verse"], "bars": {}, "energy": {}}}, "form"),
        ({"drums": {"instrument": {"synth_kit": "rock"}, "grooves": {"main": {"voices": {
            "kick": "x..o"}}}, "section_grooves": {}}}, "drums.grooves.main.voices"),
    ],
)  # fmt: skip
def test_a_broken_file_names_the_file_and_the_field(
    tmp_path: Path, changes: dict[str, object], field: str
) -> None:
    path = tmp_path / "broken_style.yaml"
    path.write_text(yaml.safe_dump(_rock_as(**changes)), encoding="utf-8")
    with pytest.raises(StyleFileError) as caught:
        load_style_file(path)
    assert "broken_style.yaml" in str(caught.value)
    assert field in str(caught.value)


def test_unreadable_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "garbled.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(StyleFileError, match=r"garbled\.yaml"):
        StyleCatalog.from_directory(tmp_path)


def test_a_wrong_pattern_for_a_role_is_refused(tmp_path: Path) -> None:
    raw = _rock_as()
    raw["parts"][0]["pattern"] = "arpeggio"  # type: ignore[index]  # a chord pattern on bass
    path = tmp_path / "wrong_pattern.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(StyleFileError, match=r"wrong_pattern\.yaml: parts\.0"):
        load_style_file(path)
