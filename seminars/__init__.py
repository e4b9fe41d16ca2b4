"""Seminars, conferences, trainings and study visits; builds on `office`."""
