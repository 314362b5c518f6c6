"""The client's core: cache, sync, charter, mail, credentials. No Qt here, ever.

Entry points the CLI, the GUI and the demo share:
- `database.open_database(cache_path(home)) -> Database`: `.session()` to read, `.write()` for one
  BEGIN IMMEDIATE transaction committed durably at the end of the block, `.close()`.
- `models`: the cache's tables (Proposal mirrors the hub, Decision is local with its sync state).
- `triage.decide(...)`, `triage.undo(...)` / `undo_on_proposal(...)`, `triage.drop_conflict(...)`
  / `drop_conflicts_on_proposal(...)`: local, offline, durable.
- `sync.run_sync(database, http, hub_url=, token=, moderator=, ..., on_retry=)` -> SyncReport, or
  a `sync.SyncEngine` for single steps (push, pull, claim, renew_claims, release_undecided).
  Each hub call retries within `hubclient.DEFAULT_DEADLINE_SECONDS`; `on_retry(attempt, attempts,
  reason)` hears of each new try.
- `queries.status(...)`, `queries.list_proposals(...)`, `queries.search_ids(...)`,
  `queries.list_conflicts(...)`: read views.
- `credentials.Credentials(backend)`: secrets through keyring only; `account`: hub URL and user.
Every failure a user can act on is an `errors.UserError` with one sentence.
"""
