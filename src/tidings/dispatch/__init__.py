"""Dispatch: claiming due messages, sending them with bounded concurrency, writing outcomes."""
