"""Prompt understanding: text → genre, mood, tempo, key and energy, with evidence."""

from songforge.prompt.explain import explain_text
from songforge.prompt.interpretation import Evidence, Interpretation
from songforge.prompt.understand import understand

__all__ = ["Evidence", "Interpretation", "explain_text", "understand"]
