"""Channels: one adapter per provider behind the interface in ``base``."""
