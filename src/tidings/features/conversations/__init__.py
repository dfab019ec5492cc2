"""Conversations (SPEC §3): group threads whose participants are reached on any channel type."""
