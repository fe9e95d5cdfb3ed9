"""The one definition of "the version of record R as of night D", for the checks and the ledger.

Among R's rows delivered on nights up to D, the version of record is the last in
:data:`DELIVERY_ORDER`: the latest night; within it the file delivered last; within the file the
later position.  Child rows (invoice lines, presented invoices, endorsements) follow their
parent's version.  Checks of night D read it through ``cur_<table>`` (these views, or the state
kept night by night, :mod:`warehouse.asof_state`); the ledger orders its inputs by the same terms
(:func:`sequenced`, :func:`delivery_order`).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from warehouse.schemas import CHILD_OF, NATURAL_KEYS, SCHEMAS  # child tables follow their parent row's version

ASOF_VERSION = 2
"""Bumped whenever the definition changes: as-of state built by another version is rebuilt."""

DELIVERY_ORDER: tuple[str, ...] = ("business_date", "file_seq", "src_pos", "src_sha256")
"""The order rows were delivered in, the last the version of record: the night, then the file's
delivery order within the night (``files.seq``, the archive manifest's sequence: a file delivered
or restated later in the night wins), then the position in the file; ``src_sha256`` last, only so
that the order is total (rows of files the register does not know have ``file_seq`` 0)."""

_FILE_SEQ = "(SELECT business_date, sha256 AS src_sha256, max(seq) AS file_seq FROM files GROUP BY ALL)"


def _sequenced_select(source: str, *, rowid: bool = False) -> str:
    """``source``'s rows with ``file_seq`` and ``delivery_key`` (and, with ``rowid``, the base table's
    ``rowid`` as ``version_rowid``)."""
    row = ", _t.rowid AS version_rowid" if rowid else ""
    return (f"SELECT *, struct_pack({', '.join(DELIVERY_ORDER)}) AS delivery_key FROM ("
            f"SELECT _t.*{row}, coalesce(_s.file_seq, 0) AS file_seq FROM {source} _t "
            f"LEFT JOIN {_FILE_SEQ} _s USING (business_date, src_sha256))")


def sequenced(table: str) -> str:
    """A FROM item: the rows of ``table`` with ``file_seq`` (their file's delivery order in its night)
    and ``delivery_key`` (a struct of :data:`DELIVERY_ORDER`: compares and sorts in delivery order).
    SQL files read the same through the table macro ``sequenced_rows('<table>')`` (:func:`install_asof_macros`)."""
    return f"({_sequenced_select(table)})"


def install_asof_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define this connection's ``sequenced_rows(table_name)``: :func:`sequenced` for SQL files."""
    con.execute(f"CREATE OR REPLACE TEMP MACRO sequenced_rows(t) AS TABLE {_sequenced_select('query_table(t)')}")


def delivery_order(alias: str = "", *, latest_first: bool = False, within_night: bool = False) -> str:
    """ORDER BY terms of :data:`DELIVERY_ORDER` (columns of ``alias``): delivery order, or the
    version of record first; ``within_night`` leaves out the night."""
    prefix = f"{alias}." if alias else ""
    columns = DELIVERY_ORDER[1:] if within_night else DELIVERY_ORDER
    return ", ".join(f"{prefix}{c}{' DESC' if latest_first else ''}" for c in columns)


def latest_versions_sql(table: str, where: str) -> str:
    """The version of record of each natural key of ``table`` (a base table) among its rows meeting
    ``where``: the latest in :data:`DELIVERY_ORDER` (``delivery_key``, whose fields are never null).

    The versions are chosen on the keys and the delivery order alone (``arg_max`` of the row's
    ``rowid``), and only the chosen rows are read whole: ranking every row with all its columns
    (a window over the table) cost twice the CPU at a 1M-invoice night (BENCHMARKS.md)."""
    keys = ", ".join(NATURAL_KEYS[table])
    chosen = (f"SELECT arg_max(version_rowid, delivery_key) FROM ({_sequenced_select(table, rowid=True)}) "
              f"WHERE {where} GROUP BY {keys}")
    return f"SELECT * FROM {table} WHERE rowid IN ({chosen})"


def children_sql(child: str, parents: str) -> str:
    """The rows of ``child`` belonging to the parent versions in ``parents``."""
    join_cols = CHILD_OF[child][1]
    on = " AND ".join(f"c.{col} = p.{col}" for col in (*join_cols, "business_date", "src_sha256", "src_pos"))
    return f"SELECT c.* FROM {child} c JOIN {parents} p ON {on}"


def create_asof_views(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> None:
    """Create temporary ``cur_<table>`` views: the version of record of every key as of ``as_of``
    (:data:`DELIVERY_ORDER`), computed from every night up to it; child rows follow their parent's version."""
    install_asof_macros(con)
    up_to = f"business_date <= DATE '{as_of.isoformat()}'"
    for name in SCHEMAS:
        if name not in CHILD_OF:
            con.execute(f"CREATE OR REPLACE TEMP VIEW cur_{name} AS {latest_versions_sql(name, up_to)}")
    for child, (parent, _) in CHILD_OF.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW cur_{child} AS {children_sql(child, f'cur_{parent}')}")


def latest_rows_sql(table: str, key: str, as_of: str, *, where: str = "true") -> str:
    """Each ``key``'s latest row of ``table`` dated (``business_date``) up to ``as_of`` (an SQL date
    expression), with its own date: "as of night D" of the engine's tables that store a night's changes
    only (a row for a key whose value changed that night; :func:`verdicts_as_of_sql`); ``where``, a
    condition on the key alone, keeps only those keys."""
    return (f"SELECT * FROM {table} WHERE business_date <= {as_of} AND ({where}) "
            f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY business_date DESC) = 1")


def verdicts_as_of_sql(as_of: str = "$1", *, latest: str | None = None) -> str:
    """``financing_verdicts`` as of night ``as_of`` (an SQL date expression, by default the query's first
    parameter): each financing's latest row up to that night unless it says the financing is no longer
    named (``dropped``), dated ``as_of``; the columns those of the table without ``dropped``.  ``latest``,
    a query giving those latest rows already (the standing verdicts, :mod:`reconciliation.standing`),
    replaces the window over every row."""
    return (f"SELECT {as_of}::DATE AS business_date, * EXCLUDE (business_date, dropped) "
            f"FROM ({latest or latest_rows_sql('financing_verdicts', 'financing_id', as_of)}) WHERE NOT dropped")


def matches_as_of_sql(as_of: str = "$1", *, latest: str | None = None) -> str:
    """``trade_matches`` as of night ``as_of`` (as :func:`verdicts_as_of_sql`, ``latest`` too): a financing's
    matches are its rows of the night of its latest verdict row up to ``as_of`` (a night writes a financing's
    verdict row whenever its verdict or its matches change), none when that row says it is dropped."""
    return (f"SELECT {as_of}::DATE AS business_date, m.* EXCLUDE (business_date) "
            f"FROM ({latest or latest_rows_sql('financing_verdicts', 'financing_id', as_of)}) v "
            "JOIN trade_matches m ON m.business_date = v.business_date AND m.financing_id = v.financing_id WHERE NOT v.dropped")
