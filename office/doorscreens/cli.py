"""Door screen commands (wsgi registers COMMANDS)."""

from __future__ import annotations

COMMANDS: dict = {}
