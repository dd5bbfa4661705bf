"""Text → style, mood, tempo, key and energy, with the words that led to each choice.

Four layers, each adding votes for styles (weights documented in :mod:`~songforge.prompt.scoring`):

1. the exact reader (:mod:`~songforge.prompt.explicit`): bpm, key, metre, length; plus the
   catalog's genre names and aliases, word-bounded, longest first;
2. the concept lexicon (:mod:`~songforge.prompt.lexicon`): moods, scenes, activities, eras,
   instruments, places and artists, matched exactly, by stem or fuzzily;
3. TF-IDF similarity (:mod:`~songforge.prompt.similarity`) to each style's own words;
4. optionally, sentence-embedding similarity (:mod:`~songforge.prompt.embeddings`).

The best-scoring style wins; with no genre cue at all the reading falls back to pop. Mood, mode,
energy and tempo come from the lexicon's concepts; tempo is placed inside the chosen style's
range from the catalog, never a hard-coded number."""

from __future__ import annotations

from songforge.prompt.cues import concept_cues, cues_from_hits
from songforge.prompt.embeddings import (
    EmbeddingMatcher,
    EmbeddingsSetting,
    matcher_for,
    setting_from_env,
)
from songforge.prompt.explain import explain_text
from songforge.prompt.explicit import ExplicitReading, read_explicit
from songforge.prompt.interpretation import Evidence, Interpretation
from songforge.prompt.lexicon import Lexicon, default_lexicon
from songforge.prompt.matching import find_hits, phrase_index
from songforge.prompt.scoring import (
    choose_style,
    embedding_votes,
    lexical_votes,
    similarity_text,
    similarity_votes,
)
from songforge.prompt.tendencies import (
    negation_notes,
    read_energy,
    read_era,
    read_instruments,
    read_mode,
    read_mood,
    read_tempo,
)
from songforge.prompt.text import Token, tokenize
from songforge.styles.catalog import StyleCatalog


def _consumed(tokens: tuple[Token, ...], explicit: ExplicitReading) -> frozenset[int]:
    return frozenset(
        i
        for i, token in enumerate(tokens)
        if any(token.start < end and start < token.end for start, end in explicit.spans)
    )


def _resolve_matcher(
    embeddings: EmbeddingMatcher | EmbeddingsSetting | str | None,
) -> EmbeddingMatcher | None:
    if isinstance(embeddings, EmbeddingMatcher):
        return embeddings
    setting = setting_from_env() if embeddings is None else EmbeddingsSetting(embeddings)
    return matcher_for(setting)


def understand(
    prompt: str,
    catalog: StyleCatalog,
    *,
    embeddings: EmbeddingMatcher | EmbeddingsSetting | str | None = None,
    lexicon: Lexicon | None = None,
) -> Interpretation:
    """Read a prompt against the installed styles.

    ``embeddings``: a matcher to use, a setting ("off", "auto", "on"), or None to read
    ``SONGFORGE_EMBEDDINGS`` now (default auto: used only when the extra is installed)."""
    lexicon = lexicon or default_lexicon()
    explicit = read_explicit(prompt)
    tokens = tokenize(prompt)
    hits = find_hits(prompt, tokens, _consumed(tokens, explicit), phrase_index(lexicon, catalog))

    matcher = _resolve_matcher(embeddings)
    cues = cues_from_hits(hits)
    votes = lexical_votes(cues, catalog)
    votes += similarity_votes(similarity_text(prompt, tokens, explicit, hits), catalog)
    votes += embedding_votes(matcher, prompt, catalog)
    style_id, scores, genre_evidence, fallback = choose_style(votes, catalog)
    style = catalog.get(style_id)

    concepts = concept_cues(cues)
    mood, mood_ev = read_mood(concepts)
    mode, mode_ev = read_mode(explicit, concepts)
    energy, energy_ev = read_energy(style, concepts)
    tempo, tempo_explicit, tempo_ev = read_tempo(style, explicit, concepts)
    instruments, excluded, instrument_ev = read_instruments(hits)
    era, era_ev = read_era(concepts)

    evidence = (
        genre_evidence
        + list(explicit.evidence)
        + mood_ev
        + mode_ev
        + tempo_ev
        + energy_ev
        + instrument_ev
        + era_ev
        + negation_notes(hits)
    )
    return Interpretation(
        style_id=style_id,
        style_scores=scores,
        mood=mood,
        mode=mode,
        key=explicit.key,
        tempo_bpm=tempo,
        tempo_explicit=tempo_explicit,
        time_signature=explicit.time_signature,
        duration_s=explicit.duration_s,
        energy=energy,
        instruments=instruments,
        era=era,
        evidence=tuple(evidence),
        excluded_instruments=excluded,
        fallback=fallback,
    )


__all__ = ["Evidence", "Interpretation", "explain_text", "understand"]
