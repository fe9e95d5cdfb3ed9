"""What a night must decide again: the voucher families it touches, not the whole history.

The ledger's decisions as of night D depend only on what was delivered up to D
(:mod:`ledger.process`).  When the decisions as of an earlier night P are persisted
(voucher states, refusals and pending notices, :data:`PROGRESS`) and nothing they rest on
has changed since, the decisions as of D differ from them only for

* the *voucher families* (vouchers joined by the events acting on them: an ISSUE and its
  splits, transitively, and every event naming one of them; kept night to night by
  :mod:`ledger.families`) that a row delivered after P
  reaches: an event, a financing row of one of their FINANCE events, or a family still
  pending (its payable may have arrived, its window may have passed);
* the financings delivered after P, those presenting an invoice whose tax data arrived
  after P (their fingerprints may cover more), and those of the FINANCE events replayed.

Everything else stands as decided as of P.  :func:`incremental_base` says whether P can be
built on: the last night decided is before D, no entry is dated after it (nights re-run
out of order), no input row is dated between P and D, the evidence window is the same, and
the input rows up to P are those P was decided from (:func:`kept_inputs_digest`: a restated or
re-read earlier night; the digests are kept night by night, a night's computed once from its rows
and again when it is re-read).  Otherwise the night replays everything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from foundation.vocabulary import EventType
from ledger.families import LINKS
from ledger.inputs import INPUT_TABLES
from ledger.store import fetch_one
from warehouse.results import LEDGER_INPUT_DIGESTS, LEDGER_PROGRESS

PROGRESS = LEDGER_PROGRESS.name
"""One row: the night whose decisions the ledger tables hold, the evidence window they were
taken with and the digest of the input rows they rest on."""
DIGESTS = LEDGER_INPUT_DIGESTS.name
"""The digests of the input rows, per table and night, that :data:`PROGRESS`'s digest combines."""
TOUCHED_EVENTS = "_ledger_touched_events"
"""Temporary table (``event_id``) of the events a night replays."""
TOUCHED_FINANCINGS = "_ledger_touched_financings"
"""Temporary table (``financing_id``) of the financings a night decides again."""
FAMILY_VOUCHERS = "_ledger_family_vouchers"
"""Temporary table (``voucher_id``) of the vouchers of the families a night replays."""


_ROWS_DIGEST = "count(*) AS rows, bit_xor(hash(t)) AS digest"
"""The digest of a set of input rows ``t``: their count and the XOR of their hashes (per night, or up to a night)."""


def _digests(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> dict[str, tuple[int, int]]:
    """Per input table (:data:`~ledger.inputs.INPUT_TABLES`), the count and the XOR of the
    hashes of its rows dated ``as_of`` or earlier."""
    parts = {}
    for table in INPUT_TABLES:
        row = fetch_one(con, f"SELECT {_ROWS_DIGEST} FROM {table} t WHERE business_date <= ?", [as_of])
        parts[table] = (int(row[0]), int(row[1] or 0)) if row else (0, 0)
    return parts


def _text(parts: dict[str, tuple[int, int]]) -> str:
    return ";".join(f"{table}:{count}:{xor if count else None}" for table, (count, xor) in parts.items())


def inputs_digest(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> str:
    """A digest of every input row (:data:`~ledger.inputs.INPUT_TABLES`) dated ``as_of`` or
    earlier: the row count and the XOR of the rows' hashes, per table."""
    return _text(_digests(con, as_of))


def _store_nights(con: duckdb.DuckDBPyConnection, table: str, nights: list[dt.date] | None) -> None:
    """Compute the digests of ``table``'s rows of ``nights`` (``None``: every night) from those
    rows and keep them (:data:`DIGESTS`) in place of those kept."""
    if nights is None:
        con.execute(f"DELETE FROM {DIGESTS} WHERE table_name = ?", [table])
        where, params = "true", []
    else:
        con.execute(f"DELETE FROM {DIGESTS} WHERE table_name = ? AND list_contains(?, business_date)", [table, nights])
        where, params = "business_date BETWEEN ? AND ? AND list_contains(?, business_date)", [min(nights), max(nights), nights]
    con.execute(
        f"INSERT INTO {DIGESTS} BY NAME SELECT ? AS table_name, business_date, {_ROWS_DIGEST} "
        f"FROM {table} t WHERE {where} GROUP BY business_date",
        [table, *params],
    )


def _kept(con: duckdb.DuckDBPyConnection, table: str, as_of: dt.date) -> tuple[int, int]:
    """The count and XOR of ``table``'s rows dated ``as_of`` or earlier, from the kept digests."""
    row = fetch_one(con, f"SELECT sum(rows), bit_xor(digest) FROM {DIGESTS} WHERE table_name = ? AND business_date <= ?",
                    [table, as_of])
    return (int(row[0]), int(row[1])) if row and row[0] is not None else (0, 0)


def kept_inputs_digest(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> str:
    """:func:`inputs_digest` from the digests kept night by night (:data:`DIGESTS`): a night's is
    computed from its rows only when none is kept for it or the night now holds another number
    of rows than the one kept (and kept anew).  O(the nights that changed), plus a count of rows
    per night.  A night re-read by the loader has no digest kept any more
    (:meth:`warehouse.connection.Warehouse.clear_night` forgets them); rows rewritten in place by
    something else, as many as before, are not seen here: ``scf ledger verify --state`` computes
    every digest from the rows (:func:`differing_digests`)."""
    parts = {}
    for table in INPUT_TABLES:
        counts = dict(con.execute(f"SELECT business_date, count(*) FROM {table} WHERE business_date <= ? GROUP BY ALL",
                                  [as_of]).fetchall())
        kept = dict(con.execute(f"SELECT business_date, rows FROM {DIGESTS} WHERE table_name = ? AND business_date <= ?",
                                [table, as_of]).fetchall())
        gone = [night for night in kept if night not in counts]
        if gone:
            con.execute(f"DELETE FROM {DIGESTS} WHERE table_name = ? AND list_contains(?, business_date)", [table, gone])
        stale = sorted(night for night, count in counts.items() if kept.get(night) != count)
        if stale:
            _store_nights(con, table, stale)
        parts[table] = _kept(con, table, as_of)
    return _text(parts)


def differing_digests(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """What in the digests the ledger's next night builds on is not what the input rows give now
    (``scf ledger verify --state``): each night's kept digest that differs, and the digest of
    :data:`PROGRESS` if it is not that of every row up to its night; ``None`` when no night is kept.
    Reads every input row; writes nothing (a read-only connection)."""
    kept = fetch_one(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name IN (?, ?)", [PROGRESS, DIGESTS])
    progress = fetch_one(con, f"SELECT as_of, inputs_digest FROM {PROGRESS}") if kept == (2,) else None
    if progress is None:  # a home the ledger has not run a night on since it had the table: nothing kept yet
        return None
    as_of, stored = progress
    problems = []
    for table in INPUT_TABLES:
        for night, kept, actual in con.execute(
            f"SELECT business_date, (k.rows, k.digest), (a.rows, a.digest) FROM "
            f"(SELECT business_date, rows, digest FROM {DIGESTS} WHERE table_name = ?) k FULL JOIN "
            f"(SELECT business_date, {_ROWS_DIGEST} FROM {table} t GROUP BY ALL) a "
            f"USING (business_date) WHERE k.rows IS NOT NULL AND (k.rows, k.digest) IS DISTINCT FROM (a.rows, a.digest) "
            f"ORDER BY business_date", [table]
        ).fetchall():
            problems.append(f"{table} of {night}: kept {kept}, the rows give {actual}")
    if (actual := inputs_digest(con, as_of)) != stored:
        problems.append(f"the input digest kept as of {as_of} is {stored}, the rows up to it give {actual}")
    return problems


def save_progress(con: duckdb.DuckDBPyConnection, as_of: dt.date, window_days: int, *, base: dt.date | None = None) -> None:
    """Record that the ledger tables hold the decisions as of ``as_of``, with the digest of the
    input rows up to it, combined from the digests kept night by night (:data:`DIGESTS`).

    ``base``: the night the decisions were built on (:func:`incremental_base` held: the kept
    digests up to it are those of its rows, and no row lies between it and ``as_of``): only
    tonight's digests are computed from the rows.  Without it, every night's are."""
    if base is not None:  # no row lies between base and as_of: no digest kept of those nights either
        con.execute(f"DELETE FROM {DIGESTS} WHERE business_date > ? AND business_date < ?", [base, as_of])
    for table in INPUT_TABLES:
        _store_nights(con, table, None if base is None else [as_of])
    digest = _text({table: _kept(con, table, as_of) for table in INPUT_TABLES})
    con.execute(f"DELETE FROM {PROGRESS}")
    con.execute(f"INSERT INTO {PROGRESS} BY NAME SELECT ? AS as_of, ? AS window_days, ? AS inputs_digest",
                [as_of, window_days, digest])


def forget_progress(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the decisions the next night could build on: it replays everything (a ``--full`` night;
    :func:`ledger.schema.ensure_schema` makes the table again)."""
    con.execute(f"DROP TABLE IF EXISTS {PROGRESS}")


def incremental_base(con: duckdb.DuckDBPyConnection, as_of: dt.date, window_days: int) -> dt.date | None:
    """The night whose persisted decisions night ``as_of`` may build on, or ``None`` (replay all)."""
    row = fetch_one(con, f"SELECT as_of, window_days, inputs_digest FROM {PROGRESS}")
    if row is None:
        return None
    base, window, digest = row
    if base >= as_of or window != window_days:
        return None
    latest = fetch_one(con, "SELECT max(business_date) FROM ledger_entries")
    if latest and latest[0] is not None and latest[0] > base:
        return None
    between = " UNION ALL ".join(f"SELECT 1 FROM {t} WHERE business_date > ? AND business_date < ?" for t in INPUT_TABLES)
    if con.execute(f"SELECT EXISTS ({between})", [base, as_of] * len(INPUT_TABLES)).fetchall()[0][0]:
        return None
    return base if kept_inputs_digest(con, base) == digest else None


@dataclass(frozen=True)
class Touched:
    """How much a night replays."""

    events: int
    financings: int
    vouchers: int


_MARK = f"""
CREATE OR REPLACE TEMP TABLE _ledger_new_invoices AS
SELECT DISTINCT invoice_no FROM tax_invoices WHERE business_date > $base AND business_date <= $d;

CREATE OR REPLACE TEMP TABLE {TOUCHED_FINANCINGS} AS
SELECT financing_id FROM financings WHERE business_date > $base AND business_date <= $d AND financing_id IS NOT NULL
UNION
SELECT f.financing_id FROM financings f JOIN _ledger_new_invoices n ON n.invoice_no = f.asset_invoice_no
WHERE f.business_date <= $d
UNION
SELECT i.financing_id FROM financing_invoices i JOIN _ledger_new_invoices n USING (invoice_no)
WHERE i.business_date <= $d AND i.financing_id IS NOT NULL;

CREATE OR REPLACE TEMP TABLE {FAMILY_VOUCHERS} AS
WITH seeds(v) AS (
    SELECT voucher_id FROM voucher_events WHERE business_date > $base AND business_date <= $d
    UNION SELECT parent_voucher_id FROM voucher_events WHERE business_date > $base AND business_date <= $d
    UNION SELECT e.voucher_id FROM voucher_events e JOIN {TOUCHED_FINANCINGS} t USING (financing_id)
          WHERE e.business_date <= $d AND e.event_type = '{EventType.FINANCE}'
    UNION SELECT voucher_id FROM ledger_voucher_state WHERE pending_since IS NOT NULL
)
SELECT v AS voucher_id FROM seeds WHERE v IS NOT NULL;

CREATE OR REPLACE TEMP TABLE _ledger_family_links AS
SELECT event_id, voucher_id FROM {LINKS}
WHERE family_id IN (SELECT k.family_id FROM {LINKS} k JOIN {FAMILY_VOUCHERS} s USING (voucher_id));

INSERT INTO {FAMILY_VOUCHERS} BY NAME
SELECT DISTINCT voucher_id FROM _ledger_family_links EXCEPT SELECT voucher_id FROM {FAMILY_VOUCHERS};

CREATE OR REPLACE TEMP TABLE {TOUCHED_EVENTS} AS
SELECT event_id FROM _ledger_family_links
UNION
SELECT event_id FROM voucher_events WHERE business_date > $base AND business_date <= $d AND event_id IS NOT NULL;

INSERT INTO {TOUCHED_FINANCINGS} BY NAME
SELECT DISTINCT e.financing_id FROM voucher_events e JOIN {TOUCHED_EVENTS} USING (event_id)
WHERE e.business_date <= $d AND e.event_type = '{EventType.FINANCE}' AND e.financing_id IS NOT NULL
EXCEPT SELECT financing_id FROM {TOUCHED_FINANCINGS};

DROP TABLE _ledger_new_invoices;
DROP TABLE _ledger_family_links;
"""


def mark_touched(con: duckdb.DuckDBPyConnection, base: dt.date, as_of: dt.date) -> Touched:
    """Fill the temporary tables :data:`TOUCHED_EVENTS`, :data:`TOUCHED_FINANCINGS` and
    :data:`FAMILY_VOUCHERS` with what night ``as_of`` decides again on top of night ``base``
    (the families kept as of ``as_of``: :func:`ledger.families.keep_families`)."""
    for statement in filter(str.strip, _MARK.split(";")):
        con.execute(statement, {k: v for k, v in {"base": base, "d": as_of}.items() if f"${k}" in statement})
    counts = [
        fetch_one(con, f"SELECT count(*) FROM {t}") for t in (TOUCHED_EVENTS, TOUCHED_FINANCINGS, FAMILY_VOUCHERS)
    ]
    return Touched(*(int(c[0]) if c else 0 for c in counts))


def drop_touched(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temporary tables of :func:`mark_touched`."""
    for table in (TOUCHED_EVENTS, TOUCHED_FINANCINGS, FAMILY_VOUCHERS):
        con.execute(f"DROP TABLE IF EXISTS {table}")
