"""Fixtures for the prompt reader: the shipped catalog, and a small one made in the test."""

from __future__ import annotations

from pathlib import Path

import pytest

from songforge.styles.catalog import StyleCatalog, default_catalog, load_style_file

STYLE_DATA = Path(__file__).resolve().parents[2] / "src" / "songforge" / "styles" / "data"


@pytest.fixture(scope="session")
def catalog() -> StyleCatalog:
    return default_catalog()


@pytest.fixture(scope="session")
def small_catalog() -> StyleCatalog:
    """Rock from its data file plus a synthetic 'drone' style: no pop, no metal, no lofi."""
    rock = load_style_file(STYLE_DATA / "rock.yaml")
    drone = rock.model_copy(
        update={
            "id": "drone",
            "name": "Drone",
            "description": "Slow, beatless drones and pads for sleep and meditation.",
            "aliases": ("drone music", "dark drone"),
            "tags": ("pads", "sleep", "meditation", "stillness", "space"),
            "moods": ("peaceful", "calm"),
            "energy": 0.2,
            "tempo_bpm": (50.0, 80.0),
            "default_tempo_bpm": 60.0,
        }
    )
    return StyleCatalog([rock, drone])
