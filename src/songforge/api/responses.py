"""A JSON response rendered with orjson (several times faster than the stdlib on job views).
It subclasses JSONResponse so FastAPI documents the routes' response models."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
