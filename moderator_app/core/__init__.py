"""The client's core: cache, sync, charter, mail, credentials. No Qt here, ever."""
