"""Proxy sessions (SPEC §3 "Proxy sessions"): two people talk through a pool number of the
account, neither seeing the other's address (docs/proxy.md)."""
