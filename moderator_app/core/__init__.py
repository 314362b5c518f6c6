"""The client's core: cache, sync, charter, mail, credentials. No Qt here, ever.

Entry points the CLI, the GUI and the demo share:
- `database.open_database(cache_path(home)) -> Database`: `.session()` to read, `.write()` for one
  BEGIN IMMEDIATE transaction committed durably at the end of the block, `.close()`.
- `models`: the cache's tables (Proposal mirrors the hub, Decision is local with its sync state).
- `triage.decide(...)`, `triage.undo(...)`, `triage.drop_conflict(...)`: local, offline, durable.
- `sync.run_sync(database, http, hub_url=, token=, moderator=, ...) -> SyncReport`, or a
  `sync.SyncEngine` for single steps (push, pull, claim, renew_claims, release_undecided).
- `queries.status(...)`, `queries.list_proposals(...)`, `queries.search_ids(...)`: read views.
- `credentials.Credentials(backend)`: secrets through keyring only; `account`: hub URL and user.
Every failure a user can act on is an `errors.UserError` with one sentence.
"""
