"""The ledger's own tables in the warehouse, and the macros that read them.

The tables (``ledger_entries``, ``ledger_nodes``, ``ledger_tree``, ``ledger_checkpoints``,
``ledger_rejections``, ``ledger_voucher_state``, ``ledger_progress``, ``ledger_fingerprints``,
``peer_fingerprints``) are declared, with what each holds, in :mod:`warehouse.results`.
The table macros that read financings as of a night (:data:`AS_OF_MACROS`): a voided
financing counts nowhere until it is accepted again.
"""

from __future__ import annotations

import duckdb

from ledger.entries import FINANCING_STATUSES
from ledger.rejections import AS_OF_MACRO
from ledger.store import FINANCING, financing_status_column
from warehouse.registry import create_table
from warehouse.results import LEDGER_TABLES

FINANCING_ENTRIES = ", ".join(f"'{t}'" for t in (FINANCING, *map(financing_status_column, FINANCING_STATUSES)))
"""The entry types about a financing's standing (an SQL list): its entries and its status entries."""

FINANCINGS_AS_OF = f"""
    SELECT financing_id, seq, content_hash, business_date FROM (
        SELECT financing_id, seq, content_hash, business_date, entry_type FROM {{source}}
        WHERE entry_type IN ({FINANCING_ENTRIES}) AND business_date <= {{d}}
        QUALIFY row_number() OVER (PARTITION BY financing_id ORDER BY business_date DESC, seq DESC) = 1
    ) WHERE entry_type = '{FINANCING}'
"""
"""The financings standing as of night ``{d}`` among the entries of ``{source}`` (``ledger_entries``,
or those of the financings a chunk decides: :mod:`ledger.process`): (financing_id, seq, content_hash,
business_date) of each one's latest financing entry, unless a status entry (a void) came after it."""

AS_OF_MACROS = (
    # The financings standing as of night d (FINANCINGS_AS_OF over every entry).
    f"CREATE OR REPLACE MACRO ledger_financings_as_of(d) AS TABLE {FINANCINGS_AS_OF.format(source='ledger_entries', d='d')}",
    # The fingerprints of those financings as of night d (those of their standing entry), each
    # with the night it was first recorded since the financing's last void.
    f"""
    CREATE OR REPLACE MACRO ledger_fingerprints_as_of(d) AS TABLE
    WITH voids AS (
        SELECT financing_id, business_date, seq FROM ledger_entries
        WHERE entry_type IN ({FINANCING_ENTRIES}) AND entry_type <> '{FINANCING}' AND business_date <= d
        QUALIFY row_number() OVER (PARTITION BY financing_id ORDER BY business_date DESC, seq DESC) = 1
    ), since AS (
        SELECT f.*, min(f.business_date) OVER (PARTITION BY f.financing_id, f.kind, f.digest) AS first_seen
        FROM ledger_fingerprints f LEFT JOIN voids v USING (financing_id)
        WHERE f.business_date <= d AND (v.seq IS NULL OR f.business_date > v.business_date
                                        OR (f.business_date = v.business_date AND f.seq > v.seq))
    )
    SELECT s.financing_id, s.kind, s.digest, s.amount_fen, s.first_seen, s.seq
    FROM since s JOIN ledger_financings_as_of(d) l USING (seq)
    """,
)

def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ledger tables (declared in :mod:`warehouse.results`) if they do not exist yet, and its macros."""
    for table in LEDGER_TABLES:
        create_table(con, table)
    for statement in (AS_OF_MACRO, *AS_OF_MACROS):
        con.execute(statement)


def has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the ledger tables exist (a read-only connection cannot create them)."""
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ledger_entries'"
    ).fetchall()
    return bool(rows and rows[0][0])
