"""The seminars blueprint (planning, registration and attendance arrive with the seminars issue)."""

from flask import Blueprint

bp = Blueprint("seminars", __name__, url_prefix="/seminars")
