"""One summary table for `make bench`: each figure beside its floor measured in the same run.

Every benchmark calls `record()` for its headline figures; when SAMLOKAL_BENCH_SUMMARY names
a file (.ci/bench sets it) the rows are appended there as JSON lines, and
`python bench/summary.py FILE` prints them as one table at the end of the run.
A ratio target says how many times the floor the figure may take; an absolute target is a
limit in the figure's unit; "holds" is yes only when every target given holds.
"""

from __future__ import annotations

import json
import os
import sys


def record(figure: str, value: float, floor_name: str = "", floor: float | None = None, *,
           unit: str = "ms", ratio_target: float | None = None, limit: float | None = None,
           higher_is_better: bool = False) -> None:
    path = os.environ.get("SAMLOKAL_BENCH_SUMMARY")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({
            "figure": figure, "value": value, "floor_name": floor_name, "floor": floor,
            "unit": unit, "ratio_target": ratio_target, "limit": limit,
            "higher_is_better": higher_is_better,
        }) + "\n")


def _number(value: float, unit: str) -> str:
    if unit == "ms" and value < 1:
        return f"{value * 1000:.0f} µs"
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}"


def _row(item: dict) -> list[str]:
    value, floor, unit = item["value"], item["floor"], item["unit"]
    better_high = item["higher_is_better"]
    ratio = None
    if floor:
        ratio = value / floor
    targets, holds = [], []
    if item["ratio_target"] is not None:
        if better_high:
            targets.append(f"≥ {item['ratio_target']:.0%} of floor")
            holds.append(ratio is not None and ratio >= item["ratio_target"])
        else:
            targets.append(f"≤ {item['ratio_target']:g}×")
            holds.append(ratio is not None and ratio <= item["ratio_target"])
    if item["limit"] is not None:
        sign = "≥" if better_high else "<"
        targets.append(f"{sign} {_number(item['limit'], unit)}")
        holds.append(value >= item["limit"] if better_high else value < item["limit"])
    if ratio is None:
        shown_ratio = "–"
    elif better_high:
        shown_ratio = f"{ratio:.0%}"
    else:
        shown_ratio = f"{ratio:.1f}×"
    floor_text = f"{item['floor_name']} {_number(floor, unit)}" if floor else "–"
    return [item["figure"], _number(value, unit), floor_text, shown_ratio,
            ", ".join(targets) or "report", ("yes" if all(holds) else "NO") if holds else "–"]


def print_table(path: str) -> None:
    try:
        with open(path, encoding="utf-8") as source:
            items = [json.loads(line) for line in source if line.strip()]
    except FileNotFoundError:
        items = []
    rows = [["figure", "measured", "floor (same run)", "ratio", "target", "holds?"]]
    rows += [_row(item) for item in items]
    widths = [max(len(r[n]) for r in rows) for n in range(len(rows[0]))]
    print("\n=== Summary (every figure beside its floor from the same run) ===")
    for n, row in enumerate(rows):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


if __name__ == "__main__":
    print_table(sys.argv[1])
