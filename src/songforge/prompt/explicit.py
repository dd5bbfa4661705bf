"""The exact reader: numbers, keys and metres written in the prompt, read literally.

"140 bpm", "tempo 128", "in F# minor", "key of Bb", "in Am", "3:30 long", "2 min 45", "in 3/4",
"waltz". Keys need a context that ordinary English does not produce ("in X", "key of X",
"X minor/major", "Xm"), so the article "a" and a capital "E" in running text never become keys."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from songforge.prompt.interpretation import Evidence
from songforge.theory import Key, Mode, TimeSignature

MIN_TEMPO_BPM = 40.0
MAX_TEMPO_BPM = 240.0
MIN_DURATION_S = 30.0
MAX_DURATION_S = 600.0

Span = tuple[int, int]

_NUM = r"\d{2,3}(?:\.\d+)?"
_TEMPO_AFTER = re.compile(
    rf"(?<![\w.])(?P<a>{_NUM})(?:\s*(?:-|–|to)\s*(?P<b>{_NUM}))?\s*-?\s*"
    r"(?:bpm|b\.p\.m\.?|beats?\s+(?:per|a)\s+minute)(?![a-z])",
    re.IGNORECASE,
)
_TEMPO_BEFORE = re.compile(
    r"\b(?:tempo|bpm)(?:\s*(?:of|at|is|=|:|~|around|about|roughly|approximately|near))*\s*"
    rf"(?P<a>{_NUM})(?![\w.:/])",
    re.IGNORECASE,
)

_MODES = r"harmonic[\s-]minor|major|minor|maj|min|ionian|aeolian|dorian|phrygian|lydian|mixolydian"
_NOTE = r"(?P<letter>[A-Ga-g])(?P<acc>#|b(?=m?(?![\w#&']))|[\s-]?sharp\b|[\s-]?flat\b)?"
_KEY_OF = re.compile(
    rf"\bkey\s*(?:of|:|=|in|-)?\s*{_NOTE}(?:[\s-]*(?P<mode>{_MODES})\b|(?P<m>m))?(?![\w#&'])",
    re.IGNORECASE,
)
_IN_KEY = re.compile(
    rf"\bin\s+{_NOTE}(?:[\s-]*(?P<mode>{_MODES})\b|(?P<m>m))?(?![\w#&'])", re.IGNORECASE
)
_NOTE_MODE = re.compile(rf"(?<![\w#]){_NOTE}[\s-]*(?P<mode>{_MODES})(?![\w#&'])", re.IGNORECASE)
_CHORD_NAME = re.compile(r"(?<![\w#])(?P<letter>[A-G])(?P<acc>#|b)?m(?![\w#&'])")  # "F#m", "Em"
_MODE_HINT = re.compile(
    r"\b(?:in\s+(?:a\s+)?)?(?P<mode>minor|major)[\s-]+(?:key|scale|tonality|mode|feel)\b"
    r"|\bin\s+(?P<mode2>minor|major)\b"
    r"|\b(?P<mode3>dorian|phrygian|lydian|mixolydian)\b",
    re.IGNORECASE,
)
# After "in A" only these words (or punctuation, or the end) keep "A" a key: "In A World" is not.
_AFTER_BARE_A = re.compile(
    r"\s*(?:$|[,.;:!?)]|(?:with|and|at|for|please|but|or|using|featuring|on|that|to)\b)",
    re.IGNORECASE,
)
_AFTER_MINOR_A = re.compile(r"\s*(?:$|[,.;:!?)]|(?:with|and|at|for|please|but|or|on|to)\b)")
_KEY_WORD_NEXT = re.compile(r"[\s-]*(?:key|scale|tonality)\b", re.IGNORECASE)

_METER = re.compile(r"(?<![\d/.])(?P<num>\d{1,2})\s*/\s*(?P<den>\d{1,2})(?![\d/])")
_METER_WORDS: dict[str, TimeSignature] = {
    "waltz": TimeSignature.THREE_FOUR,
    "waltzes": TimeSignature.THREE_FOUR,
    "waltzing": TimeSignature.THREE_FOUR,
    "three four time": TimeSignature.THREE_FOUR,
    "triple meter": TimeSignature.THREE_FOUR,
    "triple time": TimeSignature.THREE_FOUR,
    "jig": TimeSignature.SIX_EIGHT,
    "compound time": TimeSignature.SIX_EIGHT,
    "six eight": TimeSignature.SIX_EIGHT,
    "twelve eight": TimeSignature.TWELVE_EIGHT,
}
_METER_WORD = re.compile(
    r"\b(?P<w>" + "|".join(re.escape(w) for w in _METER_WORDS) + r")\b", re.IGNORECASE
)

_NUMBER_WORDS = {
    "a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0,
    "six": 6.0, "seven": 7.0, "eight": 8.0, "nine": 9.0, "ten": 10.0,
}  # fmt: skip
_DURATION_CLOCK = re.compile(
    r"(?<![\w.:/])(?P<m>\d{1,2}):(?P<s>[0-5]\d)(?![\d:])(?!\s*(?:am|pm|a\.m|p\.m)\b)",
    re.IGNORECASE,
)
_DURATION_MINUTES = re.compile(
    r"(?<![\w.:/])(?P<n>\d{1,2}(?:\.\d+)?)(?P<half>\s+and\s+a\s+half)?\s*-?\s*"
    r"(?:minutes?|mins?|m)(?![a-z])"
    r"(?:\s*(?:and\s+)?(?P<s>\d{1,2})(?:\s*(?:seconds?|secs?|s))?(?![\w.:/]))?",
    re.IGNORECASE,
)
_DURATION_MINUTE_WORDS = re.compile(
    r"\b(?P<w>an?|one|two|three|four|five|six|seven|eight|nine|ten)"
    r"(?P<half>\s+and\s+a\s+half)?[\s-]+(?:minutes?|mins?)\b",
    re.IGNORECASE,
)
_DURATION_SECONDS = re.compile(r"(?<![\w.:/])(?P<n>\d{2,3})\s*(?:seconds|secs?)\b", re.IGNORECASE)
_DURATION_HOURS = re.compile(
    r"\b(?P<half>half\s+an?\s+)?(?P<n>an|one|1)?\s*-?\s*(?:hour|hr)s?\b", re.IGNORECASE
)


@dataclass(frozen=True)
class ExplicitReading:
    """Values written literally in the prompt, the character spans they used, and why."""

    tempo_bpm: float | None = None
    key: Key | None = None
    mode: Mode | None = None  # a mode without a tonic: "in a minor key", "dorian"
    time_signature: TimeSignature | None = None
    duration_s: float | None = None
    spans: tuple[Span, ...] = ()
    evidence: tuple[Evidence, ...] = field(default=())


def _overlaps(span: Span, taken: list[Span]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def _finditer(pattern: re.Pattern[str], text: str, taken: list[Span]) -> list[re.Match[str]]:
    return [m for m in pattern.finditer(text) if not _overlaps(m.span(), taken)]


def _read_tempo(text: str, taken: list[Span], evidence: list[Evidence]) -> float | None:
    for pattern in (_TEMPO_AFTER, _TEMPO_BEFORE):
        for match in _finditer(pattern, text, taken):
            low = float(match.group("a"))
            high = (
                float(match.group("b")) if "b" in pattern.groupindex and match.group("b") else low
            )
            bpm = (low + high) / 2.0
            phrase = match.group().strip()
            taken.append(match.span())
            if not MIN_TEMPO_BPM <= bpm <= MAX_TEMPO_BPM:
                evidence.append(
                    Evidence("bpm", f"{bpm:g}", (phrase,), "explicit tempo ignored: outside "
                             f"{MIN_TEMPO_BPM:g}–{MAX_TEMPO_BPM:g} bpm", 0.0)
                )  # fmt: skip
                continue
            reason = "explicit tempo" if low == high else f"middle of the explicit range {phrase}"
            evidence.append(Evidence("bpm", f"{bpm:g}", (phrase,), reason, 1.0))
            return bpm
    return None


def _key_from(match: re.Match[str]) -> Key | None:
    groups = match.groupdict()
    letter, acc = groups["letter"], groups.get("acc") or ""
    mode_word = groups.get("mode") or ("m" if groups.get("m") or "mode" not in groups else "")
    try:
        return Key.parse(f"{letter}{acc} {mode_word}".strip())
    except ValueError:
        return None


def _accept_in_key(match: re.Match[str], text: str) -> bool:
    """Whether "in X" names a key: a capital letter, or an accidental, or a mode word — and
    never the article in "in a hurry" or the title in "In A World"."""
    letter, acc = match.group("letter"), match.group("acc")
    has_mode = bool(match.group("mode") or match.group("m"))
    rest = text[match.end() :]
    if letter == "a" and not acc:
        return has_mode and match.group("mode") is not None and bool(_AFTER_MINOR_A.match(rest))
    if letter == "A" and not acc and not has_mode:
        return bool(_AFTER_BARE_A.match(rest))
    if acc and acc.strip(" -").lower() in ("sharp", "flat") and letter.islower():
        return has_mode  # "living in a flat" is an apartment
    return letter.isupper() or acc == "#" or has_mode


def _accept_note_mode(match: re.Match[str], text: str) -> bool:
    """Whether "X minor" names a key: not "a minor detail", "a major label", "a minor key"."""
    letter, rest = match.group("letter"), text[match.end() :]
    if letter == "a" and not match.group("acc"):
        return False  # the article: "a minor key" is a mode, read below
    if letter == "A" and not match.group("acc"):
        return bool(_AFTER_MINOR_A.match(rest) or _KEY_WORD_NEXT.match(rest))
    return True


def _accept_chord_name(match: re.Match[str], text: str) -> bool:
    """Chord-style keys ("Em", "F#m", "Bbm"), but not a bare "Am": "Am I dreaming"."""
    return bool(match.group("acc")) or match.group("letter") != "A"


def _read_key(
    text: str, taken: list[Span], evidence: list[Evidence]
) -> tuple[Key | None, Mode | None]:
    readers: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], str], bool], str], ...] = (
        (_KEY_OF, lambda m, t: True, "explicit key"),
        (_IN_KEY, _accept_in_key, "explicit key"),
        (_NOTE_MODE, _accept_note_mode, "explicit key"),
        (_CHORD_NAME, _accept_chord_name, "key written as a chord name"),
    )
    for pattern, accept, reason in readers:
        for match in _finditer(pattern, text, taken):
            if not accept(match, text):
                continue
            key = _key_from(match)
            if key is None:
                continue
            taken.append(match.span())
            evidence.append(Evidence("key", key.name, (match.group().strip(),), reason, 1.0))
            return key, key.mode
    for match in _finditer(_MODE_HINT, text, taken):
        word = (match.group("mode") or match.group("mode2") or match.group("mode3")).lower()
        mode = Mode(word)
        taken.append(match.span())
        evidence.append(
            Evidence(
                "mode", mode.value, (match.group().strip(),), "mode named without a tonic", 0.9
            )
        )
        return None, mode
    return None, None


def _read_meter(text: str, taken: list[Span], evidence: list[Evidence]) -> TimeSignature | None:
    for match in _finditer(_METER, text, taken):
        num, den = int(match.group("num")), int(match.group("den"))
        name = f"{num}/{den}"
        if name in {t.value for t in TimeSignature}:
            taken.append(match.span())
            evidence.append(Evidence("time_signature", name, (name,), "explicit metre", 1.0))
            return TimeSignature(name)
        if den in (2, 4, 8, 16) and 1 <= num <= 15:
            taken.append(match.span())
            supported = ", ".join(t.value for t in TimeSignature)
            reason = f"unsupported metre ignored (supported: {supported})"
            evidence.append(Evidence("time_signature", name, (name,), reason, 0.0))
    for match in _finditer(_METER_WORD, text, taken):
        word = match.group("w").lower()
        meter = _METER_WORDS[word]
        evidence.append(
            Evidence("time_signature", meter.value, (word,), f"'{word}' implies {meter.value}", 0.9)
        )
        return meter
    return None


def _duration_candidates(text: str, taken: list[Span]) -> list[tuple[re.Match[str], float]]:
    found: list[tuple[re.Match[str], float]] = []
    for match in _finditer(_DURATION_CLOCK, text, taken):
        if re.search(r"\b(?:at|by|until|till)\s*$", text[: match.start()], re.IGNORECASE):
            continue  # a time of day
        found.append((match, int(match.group("m")) * 60.0 + int(match.group("s"))))
    for match in _finditer(_DURATION_MINUTES, text, taken):
        minutes = float(match.group("n")) + (0.5 if match.group("half") else 0.0)
        found.append((match, minutes * 60.0 + float(match.group("s") or 0)))
    for match in _finditer(_DURATION_MINUTE_WORDS, text, taken):
        minutes = _NUMBER_WORDS[match.group("w").lower()] + (0.5 if match.group("half") else 0.0)
        found.append((match, minutes * 60.0))
    for match in _finditer(_DURATION_SECONDS, text, taken):
        found.append((match, float(match.group("n"))))
    for match in _finditer(_DURATION_HOURS, text, taken):
        if match.group("n") or match.group("half"):
            found.append((match, 1800.0 if match.group("half") else 3600.0))
    return sorted(found, key=lambda pair: pair[0].start())


def _read_duration(text: str, taken: list[Span], evidence: list[Evidence]) -> float | None:
    for match, seconds in _duration_candidates(text, taken):
        if _overlaps(match.span(), taken):
            continue
        phrase = match.group().strip()
        taken.append(match.span())
        if seconds <= 0:
            continue
        clamped = min(max(seconds, MIN_DURATION_S), MAX_DURATION_S)
        reason = "explicit length"
        if clamped != seconds:
            reason = (
                f"explicit length {seconds:g} s clamped to {MIN_DURATION_S:g}–{MAX_DURATION_S:g} s"
            )
        evidence.append(Evidence("duration", f"{clamped:g} s", (phrase,), reason, 1.0))
        return clamped
    return None


def read_explicit(prompt: str) -> ExplicitReading:
    """Read the literal tempo, key (or bare mode), metre and length of a prompt."""
    text = prompt.replace("♯", "#").replace("♭", "b").replace("–", "-")
    taken: list[Span] = []
    evidence: list[Evidence] = []
    tempo = _read_tempo(text, taken, evidence)
    duration = _read_duration(text, taken, evidence)
    meter = _read_meter(text, taken, evidence)
    key, mode = _read_key(text, taken, evidence)
    return ExplicitReading(
        tempo_bpm=tempo,
        key=key,
        mode=mode,
        time_signature=meter,
        duration_s=duration,
        spans=tuple(sorted(taken)),
        evidence=tuple(evidence),
    )


__all__ = ["ExplicitReading", "read_explicit"]
