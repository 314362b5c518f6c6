"""What a colleague already did before the demo moderator arrives: decisions and a few claims.

A consultation is never moderated from an empty slate: some proposals were accepted (a few after a
spelling fix), refused citing the right clause, or postponed, so the workbench can show similar
proposals already decided and the queue's counters mean something. Planned deterministically from
the corpus, then sent to the hub through its HTTP API like any moderator's client would.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from moderation_hub import wire
from moderator_app.core.hubclient import HubClient
from moderator_app.demo.seed import CLAUSE_OF_FLAW, SeedProposal

COLLEAGUE: Final = "demo-colleague"
# Proposals younger than this are still waiting for everyone.
UNTOUCHED_AGE: Final = timedelta(hours=8)
DECIDED_SHARE: Final = 0.3
POSTPONED_SHARE: Final = 0.04

Outcome = Literal["accept", "refuse", "postpone"]


@dataclass(frozen=True)
class PlannedDecision:
    external_id: str
    outcome: Outcome
    clause: str | None
    edited_content: str | None
    decided_at: datetime
    note: str | None = None


def plan_history(
    corpus: Sequence[SeedProposal], now: datetime, *, seed: int
) -> list[PlannedDecision]:
    """The colleague's decisions: about a third of the proposals older than a few hours.

    Flawed proposals are refused citing their clause; acceptable ones accepted (corrected when they
    carry a slip); hostile ones without a clear flaw are left for the demo moderator.
    """
    rng = random.Random(seed)  # noqa: S311 -- reproducible demo data, not a secret
    plan: list[PlannedDecision] = []
    for item in corpus:
        created_at = item.proposal.created_at
        if now - created_at < UNTOUCHED_AGE or rng.random() >= DECIDED_SHARE:
            continue
        if item.kind == "hostile" and item.flaw is None:
            continue
        delay = timedelta(minutes=rng.uniform(20, 40 * 60))
        decided_at = min(created_at + delay, now - timedelta(minutes=5))
        external_id = item.proposal.external_id
        if rng.random() < POSTPONED_SHARE:
            note = "À revoir avec la responsable : formulation ambiguë."
            plan.append(PlannedDecision(external_id, "postpone", None, None, decided_at, note))
        elif item.flaw is not None:
            clause = CLAUSE_OF_FLAW[item.flaw]
            plan.append(PlannedDecision(external_id, "refuse", clause, None, decided_at))
        else:
            plan.append(PlannedDecision(external_id, "accept", None, item.corrected, decided_at))
    return plan


def apply_history(
    hub: HubClient, plan: Sequence[PlannedDecision], *, charter_version: str
) -> list[wire.DecisionResult]:
    """Push the planned decisions as the colleague; every one must be applied."""
    if not plan:
        return []
    by_external_id: dict[str, wire.ProposalItem] = {}
    cursor, has_more = 0, True
    while has_more:
        page = hub.proposals(since=cursor, limit=wire.MAX_PAGE_SIZE)
        by_external_id.update((item.external_id, item) for item in page.items)
        cursor, has_more = page.next_cursor, page.has_more
    decisions = [
        wire.DecisionIn(
            id=uuid.uuid5(uuid.NAMESPACE_URL, f"moderator-app-demo:{planned.external_id}"),
            proposal_id=by_external_id[planned.external_id].id,
            proposal_version=by_external_id[planned.external_id].version,
            outcome=planned.outcome,
            reason=planned.clause,
            charter_version=charter_version,
            edited_content=planned.edited_content,
            note=planned.note,
            decided_at=planned.decided_at,
        )
        for planned in plan
    ]
    results: list[wire.DecisionResult] = []
    for start in range(0, len(decisions), wire.MAX_DECISIONS_PER_BATCH):
        results += hub.push(decisions[start : start + wire.MAX_DECISIONS_PER_BATCH])
    refused = [r for r in results if r.status not in ("applied", "duplicate")]
    if refused:
        raise RuntimeError(f"the hub refused {len(refused)} demo decisions: {refused[0]}")
    return results
