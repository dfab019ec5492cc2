"""Contacts (SPEC §3): an account's address book, used to address messages and link inbound."""
