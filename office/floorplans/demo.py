"""Demo data: a plan of Drivhuset's floor with every demo room and desk on it (seed-demo)."""

from __future__ import annotations

from sqlalchemy import select

from office.accounts.models import Role, User
from office.core.extensions import db
from office.floorplans import images
from office.floorplans import rules as floorplans
from office.premises.models import Resource, Site

# 1000 × 600 units: rooms along the top and bottom, the open office with its desks between.
DRIVHUSET_SVG = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 600" width="1000" height="600">
  <title>Drivhuset, plan 1</title>
  <rect x="0" y="0" width="1000" height="600" fill="#ffffff"/>
  <g fill="#f4f1ea" stroke="#4a4a4a" stroke-width="4">
    <rect x="10" y="10" width="980" height="580" fill="#fbfaf7"/>
    <rect x="10" y="10" width="320" height="190"/>
    <rect x="330" y="10" width="230" height="190"/>
    <rect x="560" y="10" width="200" height="190"/>
    <rect x="760" y="10" width="230" height="190"/>
    <rect x="10" y="420" width="190" height="170"/>
    <rect x="200" y="420" width="170" height="170"/>
    <rect x="370" y="420" width="150" height="170"/>
    <rect x="520" y="420" width="160" height="170"/>
    <rect x="840" y="420" width="150" height="170"/>
  </g>
  <g fill="#ffffff" stroke="#fbfaf7" stroke-width="6">
    <line x1="140" y1="200" x2="200" y2="200"/><line x1="420" y1="200" x2="480" y2="200"/>
    <line x1="630" y1="200" x2="690" y2="200"/><line x1="850" y1="200" x2="910" y2="200"/>
    <line x1="80" y1="420" x2="130" y2="420"/><line x1="260" y1="420" x2="310" y2="420"/>
    <line x1="420" y1="420" x2="470" y2="420"/><line x1="575" y1="420" x2="625" y2="420"/>
    <line x1="890" y1="420" x2="940" y2="420"/><line x1="720" y1="590" x2="800" y2="590"/>
  </g>
  <g fill="#e3ddd0" stroke="#6b6b6b" stroke-width="2">
    <rect x="55" y="250" width="70" height="40"/><rect x="205" y="250" width="70" height="40"/><rect x="355" y="250" width="70" height="40"/>
    <rect x="505" y="250" width="70" height="40"/><rect x="655" y="250" width="70" height="40"/><rect x="805" y="250" width="70" height="40"/>
    <rect x="55" y="330" width="70" height="40"/><rect x="205" y="330" width="70" height="40"/><rect x="355" y="330" width="70" height="40"/>
    <rect x="505" y="330" width="70" height="40"/><rect x="655" y="330" width="70" height="40"/><rect x="805" y="330" width="70" height="40"/>
  </g>
  <g fill="#4a4a4a" font-family="sans-serif" font-size="18" text-anchor="middle">
    <text x="760" y="560">Entré</text>
    <text x="915" y="560">Pentry</text>
  </g>
</svg>
"""

# Resource name -> (x, y) in percent of the plan: rooms at their middle, desks on their desk.
POSITIONS = {
    "Stora salen": (17.0, 17.0), "Konferensrummet": (44.5, 17.0), "Grupprummet": (66.0, 17.0),
    "AF:s kontor": (87.5, 17.0), "Samtalsrum 1": (10.5, 84.0), "Samtalsrum 2": (28.5, 84.0),
    "Samtalsrum 3": (44.5, 84.0), "Tysta rummet": (60.0, 84.0),
}
for number in range(12):  # two rows of six desks, 150 units apart
    POSITIONS[f"Skrivbord {number + 1}"] = (9.0 + 15 * (number % 6), 45.0 if number < 6 else 58.5)


def seed_floor_plan() -> None:
    """Drivhuset's plan 1 with every demo room and desk placed (after the premises exist)."""
    site = db.session.scalar(select(Site).where(Site.name == "Drivhuset"))
    coordinator = db.session.scalar(select(User).where(User.role == Role.coordinator).order_by(User.id).limit(1))
    if site is None or coordinator is None:
        return
    plan = floorplans.create_plan(site, "Plan 1", images.sanitise_svg(DRIVHUSET_SVG.encode()), coordinator)
    for resource in db.session.scalars(select(Resource).where(Resource.site_id == site.id)):
        if resource.name in POSITIONS:
            floorplans.place(plan, resource, *POSITIONS[resource.name], coordinator)
