"""Fixtures for the API tests (helpers live in service_rig.py). The provider emulators of
tests/providers/emulators serve the end-to-end provider tests here too."""

import sys
from pathlib import Path

from service_rig import live, rig

sys.path.insert(0, str(Path(__file__).parents[1] / "providers"))

__all__ = ["live", "rig"]
