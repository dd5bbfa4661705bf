"""A plain-text explanation of a prompt's reading, for ``songforge explain``."""

from __future__ import annotations

from songforge.prompt.interpretation import Evidence, Interpretation

# The order fields are explained in; anything else follows in the order it was recorded.
_FIELD_ORDER = (
    "genre", "mood", "mode", "key", "bpm", "time_signature", "duration", "energy", "instruments",
    "era", "ignored",
)  # fmt: skip
_LABELS = {
    "genre": "genre",
    "mood": "mood",
    "mode": "mode",
    "key": "key",
    "bpm": "tempo",
    "time_signature": "metre",
    "duration": "length",
    "energy": "energy",
    "instruments": "instruments",
    "era": "era",
    "ignored": "left out",
}
_WIDTH = 12


def _headline(interpretation: Interpretation) -> dict[str, str]:
    i = interpretation
    top = ", ".join(f"{sid} {score:.2f}" for sid, score in i.style_scores[:3])
    # no square brackets: terminals that render markup (rich) would swallow them
    lines = {"genre": i.style_id + (" (fallback)" if i.fallback else f"  (scores: {top})")}
    if i.mood:
        lines["mood"] = i.mood
    if i.mode is not None:
        lines["mode"] = i.mode.value.replace("_", " ")
    if i.key is not None:
        lines["key"] = i.key.name
    if i.tempo_bpm is not None:
        lines["bpm"] = f"{i.tempo_bpm:g} bpm" + (
            " (as written)" if i.tempo_explicit else " (inferred)"
        )
    if i.time_signature is not None:
        lines["time_signature"] = i.time_signature.value
    if i.duration_s is not None:
        minutes, seconds = divmod(round(i.duration_s), 60)
        lines["duration"] = f"{minutes}:{seconds:02d}"
    if i.energy is not None:
        lines["energy"] = f"{i.energy:.2f}"
    if i.instruments or i.excluded_instruments:
        lines["instruments"] = ", ".join(
            [*i.instruments, *(f"no {x}" for x in i.excluded_instruments)]
        )
    if i.era:
        lines["era"] = i.era
    return lines


def _reason_line(item: Evidence, chosen_style: str) -> str:
    if item.field == "genre" and item.value != chosen_style and item.words:
        return f"{'':{_WIDTH}}- for {item.value}: {item.reason}"
    return f"{'':{_WIDTH}}- {item.reason}"


def explain_text(interpretation: Interpretation) -> str:
    """Each inferred value on its own line, followed by the reasons behind it."""
    headline = _headline(interpretation)
    by_field: dict[str, list[Evidence]] = {}
    for item in interpretation.evidence:
        by_field.setdefault(item.field, []).append(item)
    fields = [f for f in _FIELD_ORDER if f in headline or f in by_field]
    fields += [f for f in by_field if f not in fields]
    lines = []
    for name in fields:
        label = _LABELS.get(name, name)
        value = headline.get(name, "")
        lines.append(f"{label + ':':{_WIDTH}}{value}".rstrip())
        for item in by_field.get(name, []):
            lines.append(_reason_line(item, interpretation.style_id))
    return "\n".join(lines) + "\n"


__all__ = ["explain_text"]
