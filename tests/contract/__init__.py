"""Contract tests: every storage backend passes the same suite."""
