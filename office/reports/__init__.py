"""Counts for the half-year report: cases raised by the case workers' group and trepartssamtal,
per agency and month or week, with small counts suppressed. Numbers only, never a person."""
