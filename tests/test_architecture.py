"""The house as drawn in docs/architecture.md: features as packages, arrows one way, no cycle.

Every import of the app's own code is read from the source (function-level imports too, so
a cycle cannot hide inside a function), reduced to feature → feature edges and compared
with the intended floors.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from tests.test_imports import cycles, module_imports

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ("premises", "accounts", "booking", "allocations", "meetings", "trepartssamtal",
            "availability", "feeds", "dashboard", "demo")
# Each feature's parts, by the names STYLE.md gives them; anything else needs a good reason.
FILES_OF_A_FEATURE = {"__init__.py", "models.py", "rules.py", "forms.py", "views.py", "cli.py"}


def _feature_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "seminars":
        return "seminars"
    if parts[0] == "office" and len(parts) > 1 and parts[1] not in ("translations",):
        return f"office.{parts[1]}"
    return None


def import_edges() -> dict[str, dict[str, str]]:
    """feature -> {imported feature: one module that imports it}, from test_imports' reading."""
    edges: dict[str, dict[str, str]] = defaultdict(dict)
    for module, imported in module_imports().items():
        source = _feature_of(module)
        for name in imported:
            target = _feature_of(name)
            if target and target != source:
                edges[source].setdefault(target, module)
    return edges


def test_office_never_imports_seminars():
    edges = import_edges()
    wrong = {f"{s} -> seminars ({w})" for s, targets in edges.items() if s != "seminars"
             for t, w in targets.items() if t == "seminars"}
    assert not wrong


def test_core_imports_no_feature():
    wrong = {f"core -> {t} ({w})" for t, w in import_edges()["office.core"].items()}
    assert not wrong


def test_the_feed_core_names_no_feature():
    """office/feeds is the registry, tokens, fast path and iCal output; features plug in."""
    wrong = {f"feeds -> {t} ({w})" for t, w in import_edges()["office.feeds"].items()
             if t not in ("office.core", "office.accounts")}
    assert not wrong


# Back edges that remain (a registration point should replace each); no new one may appear.
KNOWN_BACK_EDGES = {
    ("office.booking", "office.allocations"),   # the grid marks allocation windows itself
    ("office.allocations", "office.meetings"),  # the allocations demo seeds the meeting groups
}


def test_features_import_each_other_without_a_cycle():
    edges = import_edges()
    for source, target in KNOWN_BACK_EDGES:
        edges[source].pop(target, None)
    graph = {feature: set(targets) for feature, targets in edges.items()}
    for targets in list(graph.values()):
        for target in targets:
            graph.setdefault(target, set())
    assert cycles(graph) == []


def test_every_feature_is_a_package_of_named_parts():
    for feature in (*FEATURES, "core", "notifications"):
        folder = ROOT / "office" / feature
        assert (folder / "__init__.py").exists(), f"office/{feature} is not a package"
    assert not [p.name for p in (ROOT / "office").glob("*.py") if p.name != "__init__.py"], \
        "office/ holds features only; put a module into the feature (or core) it belongs to"
