"""Property-based fuzzing of every operation in /openapi.json against a live hub: never a 5xx,
every 4xx is a JSON ErrorBody, every 2xx matches the documented schema.

Schemathesis generates valid (positive) and schema-violating (negative) requests per operation;
the example count is small so the module stays fast.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from moderation_hub import wire
from moderation_hub.embedded import EmbeddedHub
from tests.hub.conftest import seed

# Operations only the platform may call; a lead's token drives all the others.
PLATFORM_OPERATIONS = {
    ("POST", "/api/v1/proposals"),
    ("POST", "/api/v1/proposals/{proposal_id}/withdraw"),
}
EXAMPLES_PER_OPERATION = 8


@pytest.fixture(scope="module")
def tokens(hub: EmbeddedHub) -> dict[str, str]:
    hub.add_question("fuzz", title="Fuzzing", language="fr")
    seed(hub, "fuzz", 20)
    return {
        "lead": hub.add_user("fuzz-lead", "lead"),
        "platform": hub.add_user("fuzz-platform", "platform"),
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_operation_answers_5xx(
    hub: EmbeddedHub, tokens: dict[str, str], mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{hub.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:
        role = (
            "platform"
            if (operation.method.upper(), operation.path) in PLATFORM_OPERATIONS
            else "lead"
        )
        headers = {"Authorization": f"Bearer {tokens[role]}"}

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def call(case: Any) -> None:
            response = case.call(headers=headers, timeout=30)  # noqa: B023 - called right away
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)
            if response.status_code >= 400:
                wire.ErrorBody.model_validate_json(response.content)
            else:
                case.validate_response(response, checks=[response_schema_conformance])

        try:
            call()
        except Unsatisfiable:
            # An operation without parameters or body has nothing to make invalid.
            assert mode is GenerationMode.NEGATIVE, operation.path
