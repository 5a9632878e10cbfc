"""Talking to other machines: every outbound request goes through ``modops.net.outbound``."""
