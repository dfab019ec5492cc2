"""Fake providers speaking their real wire formats on loopback ports (``tidings simulate``)."""
