"""The voucher families, kept from night to night (``ledger_family_links``).

A *voucher family* is a connected part of the graph whose edges join each delivered event
(its ``event_id``, whatever version) to the vouchers it names: its voucher and its parent.
No event acts across two families, so a night decides again only the families it touches
(:mod:`ledger.touched`).  Each link is kept with its family's id, the least voucher id of
the family: a canonical name, so the families kept night by night are row for row those
rebuilt from every delivered event (:func:`keep_families` with no base).

A night built on night P (:func:`ledger.touched.incremental_base`: the rows up to P are
those P was decided from, none lies between) only adds links: the families tonight's new
links reach are merged with them and named again; every other family stands.  A night that
replays everything rebuilds the whole table.  The table is as of the night in
``ledger_progress`` (it is written in the same transaction).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa

from ledger.store import fetch_one
from warehouse.results import LEDGER_FAMILY_LINKS

LINKS = LEDGER_FAMILY_LINKS.name

_NEW = "_ledger_new_links"
_KNOWN = "_ledger_known_links"
_NAMED = "_ledger_named_vouchers"
_CODES = "_ledger_family_codes"
_RENAMED = "_ledger_renamed_families"

_NEW_LINKS = f"""
CREATE OR REPLACE TEMP TABLE {_NEW} AS
SELECT DISTINCT event_id, voucher_id FROM (
    SELECT event_id, voucher_id FROM voucher_events WHERE business_date > $after AND business_date <= $d
    UNION ALL
    SELECT event_id, parent_voucher_id FROM voucher_events WHERE business_date > $after AND business_date <= $d
) WHERE voucher_id IS NOT NULL AND event_id IS NOT NULL
"""
"""Links of the events delivered after night ``$after`` up to ``$d``."""

_KNOWN_LINKS = f"""
CREATE OR REPLACE TEMP TABLE {_KNOWN} AS
SELECT event_id, voucher_id, family_id FROM {LINKS}
WHERE voucher_id IN (SELECT voucher_id FROM {_NEW}) OR event_id IN (SELECT event_id FROM {_NEW})
"""
"""The kept links sharing a voucher or an event with a new link."""


def components(left: np.ndarray, right: np.ndarray, nodes: int) -> np.ndarray:
    """For each of ``nodes`` nodes, the least node of its connected part of the graph whose
    edges join ``left[i]`` and ``right[i]``.

    Each node points to a smaller one of its part or to itself (a root); every pass hooks,
    for each edge whose two roots differ, the larger root under the smaller, then points every
    node at its root.  A part's least node is never hooked, so it ends as the part's one root.
    The passes stop when no edge joins two roots: a few, as the families are deep."""
    label = np.arange(nodes, dtype=np.int64)
    while True:
        a, b = label[left], label[right]
        high, low = np.maximum(a, b), np.minimum(a, b)
        apart = high != low
        if not apart.any():
            return label
        label[high[apart]] = low[apart]  # one of the smaller roots wins: any keeps parents smaller than children
        while not np.array_equal(jumped := label[label], label):
            label = jumped


def _name(con: duckdb.DuckDBPyConnection, links: str, joined: str) -> None:
    """Fill :data:`_NAMED` (``voucher_id``, ``family_id``): each voucher of the graph whose edges
    are the links of ``links`` (a table or subquery: ``event_id``, ``voucher_id``) and the pairs of vouchers
    of query ``joined`` (``voucher_id``, ``family_id``: known to be of one family), with the
    least voucher id of its connected part."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_CODES} AS SELECT voucher_id, (dense_rank() OVER (ORDER BY voucher_id) - 1)::BIGINT "
        f"AS code FROM (SELECT voucher_id FROM {links} UNION SELECT voucher_id FROM ({joined}) "
        f"UNION SELECT family_id FROM ({joined}))"
    )
    count = con.execute(f"SELECT count(*) FROM {_CODES}").fetchall()[0][0]
    edges = con.execute(
        f"SELECT v.code AS a, {count} + dense_rank() OVER (ORDER BY l.event_id) - 1 AS b FROM {links} l "
        f"JOIN {_CODES} v USING (voucher_id) "
        f"UNION ALL SELECT v.code, f.code FROM ({joined}) j JOIN {_CODES} v ON v.voucher_id = j.voucher_id "
        f"JOIN {_CODES} f ON f.voucher_id = j.family_id"
    ).fetchnumpy()
    left, right = (np.asarray(edges[name], dtype=np.int64) for name in ("a", "b"))
    # voucher codes come first, in voucher id order: a part's least node is its least voucher
    label = components(left, right, int(max(left.max(), right.max())) + 1 if len(left) else 0)
    con.register("_ledger_family_labels", pa.table({"code": np.arange(count, dtype=np.int64), "label": label[:count]}))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_NAMED} AS SELECT v.voucher_id, f.voucher_id AS family_id FROM {_CODES} v "
            f"JOIN _ledger_family_labels b USING (code) JOIN {_CODES} f ON f.code = b.label"
        )
    finally:
        con.unregister("_ledger_family_labels")
        con.execute(f"DROP TABLE {_CODES}")


_NONE_JOINED = "SELECT NULL::VARCHAR AS voucher_id, NULL::VARCHAR AS family_id WHERE false"


def _rebuild(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Fill :data:`_NEW` with every link delivered up to ``as_of`` and :data:`_NAMED` with their families."""
    con.execute(_NEW_LINKS, {"after": dt.date.min, "d": as_of})
    _name(con, _NEW, _NONE_JOINED)


def differing_links(con: duckdb.DuckDBPyConnection, limit: int = 10) -> list[tuple[str, str, str | None, str | None]] | None:
    """The kept links that are not those rebuilt from every event delivered up to the night
    the ledger's decisions are of (``scf ledger verify --state``): up to ``limit`` rows of
    (event, voucher, family kept, family rebuilt), a missing side ``None``; ``None`` when no
    night is kept yet (the next night rebuilds the table).  Temporary tables only: it runs on
    a read-only connection."""
    progress = fetch_one(con, "SELECT max(as_of) FROM ledger_progress")
    if progress is None or progress[0] is None:
        return None
    _rebuild(con, progress[0])
    try:
        rows = con.execute(
            f"SELECT event_id, voucher_id, k.family_id, r.family_id FROM {LINKS} k "
            f"FULL JOIN (SELECT l.event_id, l.voucher_id, n.family_id FROM {_NEW} l JOIN {_NAMED} n USING (voucher_id)) r "
            f"USING (event_id, voucher_id) WHERE k.family_id IS DISTINCT FROM r.family_id ORDER BY ALL LIMIT {int(limit)}"
        ).fetchall()
    finally:
        for table in (_NEW, _NAMED):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return [(event_id, voucher_id, kept, rebuilt) for event_id, voucher_id, kept, rebuilt in rows]


def keep_families(con: duckdb.DuckDBPyConnection, base: dt.date | None, as_of: dt.date) -> None:
    """Bring :data:`LINKS` from night ``base`` (the night the ledger's decisions are built on)
    to night ``as_of``; with no base, rebuild it from every event delivered up to ``as_of``.

    Built on a night, only night-sized rows are written: tonight's new links, named with
    their family (the families they reach merged, named by their least voucher), and the
    family id of the kept links of a family merged or named again."""
    if base is None:
        con.execute(f"DELETE FROM {LINKS}")
        _rebuild(con, as_of)
        added = _NEW
    else:
        con.execute(_NEW_LINKS, {"after": base, "d": as_of})
        con.execute(_KNOWN_LINKS)
        _name(con, f"(SELECT event_id, voucher_id FROM {_NEW} UNION ALL SELECT event_id, voucher_id FROM {_KNOWN})",
              f"SELECT voucher_id, family_id FROM {_KNOWN}")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_RENAMED} AS SELECT DISTINCT k.family_id AS was, n.family_id AS named "
            f"FROM {_KNOWN} k JOIN {_NAMED} n USING (voucher_id) WHERE k.family_id <> n.family_id"
        )
        if fetch_one(con, f"SELECT count(*) FROM {_RENAMED}") != (0,):  # families merged or named by a new voucher
            con.execute(f"UPDATE {LINKS} SET family_id = m.named FROM {_RENAMED} m WHERE {LINKS}.family_id = m.was")
        added = f"(SELECT event_id, voucher_id FROM {_NEW} EXCEPT SELECT event_id, voucher_id FROM {_KNOWN})"
    con.execute(
        f"INSERT INTO {LINKS} BY NAME SELECT l.event_id, l.voucher_id, n.family_id FROM {added} l JOIN {_NAMED} n USING (voucher_id)"
    )
    for table in (_NEW, _KNOWN, _NAMED, _RENAMED):
        con.execute(f"DROP TABLE IF EXISTS {table}")
