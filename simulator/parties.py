"""The bank's party master, ``reference/parties.csv``, delivered on the first night.

Every company with a valid USCC gets a row: its GB/T 4754-2017 industry code (from the
simulator's industry), a related-party group (its own, except that every 17th supplier
belongs to its core enterprise's group, so the pool builder's related-party rule has
something to refuse), and an internal rating (cores AAA/AA+/AA; suppliers spread A+ … BB).
"""

from __future__ import annotations

import csv
from pathlib import Path

from simulator.world import Company, World

GBT4754 = {
    "电子": "C3974", "电子材料": "C3985", "化工": "C2614", "能源": "D4411", "包装": "C2231",
    "汽车零部件": "C3670", "金属制品": "C3311", "橡胶塑料": "C2927",
}  # fmt: skip
CORE_RATINGS = ("AAA", "AA+", "AA")
SUPPLIER_RATINGS = ("A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB")
VALID_FROM = "2026-01-01"


def _group(c: Company) -> str:
    owner = c.root if c.tier > 0 and c.idx % 17 == 0 else c
    return f"G-{owner.uscc[-8:]}"


def _rating(c: Company) -> str:
    if c.tier == 0:
        return CORE_RATINGS[c.core_no % len(CORE_RATINGS)]
    return SUPPLIER_RATINGS[c.idx % len(SUPPLIER_RATINGS)]


def write_parties(path: Path, world: World) -> int:
    """Write the party master; return its number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [(c.uscc, c.name, GBT4754[c.industry], _group(c), _rating(c), VALID_FROM)
            for c in world.cores + world.suppliers if c.uscc_valid]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(("uscc", "name", "industry", "group_id", "rating", "valid_from"))
        writer.writerows(rows)
    return len(rows)
