"""Property-based fuzzing of every operation in the OpenAPI schema with schemathesis, in
process (ASGI, no network): whatever is sent, the answer is never a 5xx, and errors carry the
uniform JSON body. Bounded to 50 examples per operation."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_rig import make_rig

RIG = make_rig(
    Path(__import__("tempfile").mkdtemp(prefix="songforge-fuzz-")),
    # provider webhooks verifiable, so they answer 401/404/422 rather than 503 (no secret)
    replicate_webhook_secret="whsec_" + base64.b64encode(b"k" * 32).decode(),
)
HEADERS = RIG.auth()
for seed in range(3):  # some finished jobs so file routes have something to find
    RIG.submit(seed=seed)
RIG.run_jobs()

schema = schemathesis.openapi.from_asgi("/openapi.json", RIG.app)


def uniform_errors(ctx: Any, response: Any, case: Any) -> None:
    if response.status_code >= 400 and response.status_code != 416:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        assert isinstance(error, dict) and {"code", "message"} <= set(error), body


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@pytest.mark.filterwarnings("ignore")
def test_no_input_makes_a_server_error(case: Any) -> None:
    response = case.call(headers=HEADERS)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
    uniform_errors(None, response, case)
