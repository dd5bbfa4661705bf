"""Fixtures for the API tests (helpers live in service_rig.py)."""

from service_rig import live, rig

__all__ = ["live", "rig"]
