"""The ledger's own tables in the warehouse.

* ``ledger_entries``     -- one row per entry, append-only: the canonical bytes, their leaf
  hash, and columns copied out of them for lookups (never trusted by verification).
* ``ledger_nodes``       -- every complete interior node of the tree (level ≥ 1), so that
  proofs cost O(log n) reads; append-only.
* ``ledger_tree``        -- one row: the tree size, root, right edge (compact range) and
  last leaf hash -- everything an incremental append needs.
* ``ledger_checkpoints`` -- every checkpoint this ledger signed (also written as files).
* ``ledger_rejections``  -- refused events and financings, and pending events, with check id,
  reason, evidence: the decisions as of each night run (``as_of``), replaced on a re-run.
* ``ledger_voucher_state`` -- the state of every voucher as of the last night run (derived).
* ``ledger_progress``    -- the night those decisions are of (what the next night builds on).
* ``ledger_fingerprints`` -- keyed hashes of every financed asset.
* ``peer_fingerprints``   -- fingerprints exported by other banks sharing the key, imported.

And the table macros that read financings as of a night (:data:`AS_OF_MACROS`): a voided
financing counts nowhere until it is accepted again.
"""

from __future__ import annotations

import duckdb

from ledger.entries import FINANCING_STATUSES
from ledger.rejections import AS_OF_MACRO
from ledger.store import FINANCING, financing_status_column

_FINANCING_ENTRIES = ", ".join(f"'{t}'" for t in (FINANCING, *map(financing_status_column, FINANCING_STATUSES)))

DDL = (
    """
    CREATE TABLE IF NOT EXISTS ledger_entries (
        seq BIGINT NOT NULL,
        entry_type VARCHAR NOT NULL,      -- ISSUE, SPLIT, TRANSFER, FINANCE, SETTLE, CANCEL, FINANCING,
                                          -- or an event's later status: PENDING, POSTED, VOIDED
        event_id VARCHAR,
        financing_id VARCHAR,
        voucher_id VARCHAR,               -- the voucher acted on / financed
        parent_voucher_id VARCHAR,        -- for SPLIT: the voucher split
        business_date DATE NOT NULL,      -- the night it was appended
        content_hash BLOB NOT NULL,       -- SHA-256 of version ‖ type ‖ content (re-delivery key);
                                          -- of a status entry: that of the event version it is about
        entry BLOB NOT NULL,              -- canonical bytes (ledger.entries)
        leaf_hash BLOB NOT NULL           -- SHA-256(0x00 ‖ entry)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ledger_nodes (
        level SMALLINT NOT NULL,
        idx BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,         -- (idx + 1) * 2^level - 1: grows with insertion order,
                                          -- so zone maps find a node without an index
        hash BLOB NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ledger_tree (
        tree_size BIGINT NOT NULL,
        root_hash BLOB NOT NULL,
        edge BLOB NOT NULL,               -- the compact range: 32-byte hashes, largest subtree first
        last_leaf_hash BLOB NOT NULL,
        business_date DATE
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ledger_checkpoints (
        tree_size BIGINT NOT NULL,
        root_hash BLOB NOT NULL,
        origin VARCHAR NOT NULL,
        key_name VARCHAR NOT NULL,
        note VARCHAR NOT NULL,
        business_date DATE
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ledger_rejections (
        business_date DATE NOT NULL,      -- the night the refused version was delivered (a void:
                                          -- the night its window passed; pending: pending since)
        subject VARCHAR NOT NULL,         -- EVENT, FINANCING or LEDGER
        subject_id VARCHAR,               -- the event_id, the financing_id, or the first bad seq
        content_hash BLOB,                -- with subject_id, the key that makes re-runs reproduce it
        check_id VARCHAR NOT NULL,
        event_id VARCHAR,
        voucher_id VARCHAR,
        financing_id VARCHAR,
        reason VARCHAR NOT NULL,
        evidence JSON,
        as_of DATE                        -- the night whose decisions this row belongs to
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ledger_voucher_state (
        voucher_id VARCHAR NOT NULL,
        root_voucher_id VARCHAR NOT NULL,
        parent_voucher_id VARCHAR,
        issuer_uscc VARCHAR,
        holder_uscc VARCHAR,
        tier INTEGER NOT NULL,
        issued_fen BIGINT NOT NULL,
        remaining_fen BIGINT NOT NULL,
        maturity_date DATE,
        status VARCHAR NOT NULL,
        financing_id VARCHAR,
        last_seq BIGINT NOT NULL,
        pending_since DATE,               -- support not arrived yet: pending since that night
        as_of DATE                        -- the night these states are of
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ledger_progress (
        as_of DATE NOT NULL,              -- the night whose decisions ledger_voucher_state and
                                          -- ledger_rejections hold (ledger.touched)
        window_days INTEGER NOT NULL,     -- the evidence window they were taken with
        inputs_digest VARCHAR NOT NULL    -- of the input rows up to that night
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ledger_fingerprints (
        seq BIGINT NOT NULL,              -- the FINANCING entry that records it
        business_date DATE NOT NULL,
        financing_id VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,            -- INVOICE_ID, INVOICE_CONTENT, BILL, BILL_RANGE, VOUCHER
        digest BLOB NOT NULL,             -- HMAC-SHA256 under the fingerprint key
        amount_fen BIGINT                 -- the amount the asset is presented for, when known
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS peer_fingerprints (
        peer VARCHAR NOT NULL,            -- the bank whose export this is
        kind VARCHAR NOT NULL,
        digest BLOB NOT NULL,             -- under the key the banks share
        first_seen DATE,                  -- when the peer first financed it
        amount_fen BIGINT,                -- what the peer's financing presents it for
        imported_on DATE NOT NULL         -- the business date from which checks see it
    )
    """,
)

# Columns added since the first release: warehouses created before get them on open.
MIGRATIONS = (
    "ALTER TABLE ledger_rejections ADD COLUMN IF NOT EXISTS as_of DATE",
    "ALTER TABLE ledger_voucher_state ADD COLUMN IF NOT EXISTS pending_since DATE",
    "ALTER TABLE ledger_voucher_state ADD COLUMN IF NOT EXISTS as_of DATE",
)

INDEXES = (
    # proofs read O(log n) single nodes and leaves: point lookups through ART indexes
    "CREATE INDEX IF NOT EXISTS ledger_entries_seq ON ledger_entries (seq)",
    "CREATE INDEX IF NOT EXISTS ledger_nodes_last_seq ON ledger_nodes (last_seq)",
)

AS_OF_MACROS = (
    # The financings standing as of night d: (financing_id, seq, content_hash, business_date)
    # of each one's latest financing entry, unless a status entry (a void) came after it.
    f"""
    CREATE OR REPLACE MACRO ledger_financings_as_of(d) AS TABLE
    SELECT financing_id, seq, content_hash, business_date FROM (
        SELECT financing_id, seq, content_hash, business_date, entry_type FROM ledger_entries
        WHERE entry_type IN ({_FINANCING_ENTRIES}) AND business_date <= d
        QUALIFY row_number() OVER (PARTITION BY financing_id ORDER BY business_date DESC, seq DESC) = 1
    ) WHERE entry_type = '{FINANCING}'
    """,
    # The fingerprints of those financings as of night d (those of their standing entry), each
    # with the night it was first recorded since the financing's last void.
    f"""
    CREATE OR REPLACE MACRO ledger_fingerprints_as_of(d) AS TABLE
    WITH voids AS (
        SELECT financing_id, business_date, seq FROM ledger_entries
        WHERE entry_type IN ({_FINANCING_ENTRIES}) AND entry_type <> '{FINANCING}' AND business_date <= d
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
    """Create the ledger tables if they do not exist yet."""
    for statement in DDL + MIGRATIONS + INDEXES + (AS_OF_MACRO, *AS_OF_MACROS):
        con.execute(statement)


def has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the ledger tables exist (a read-only connection cannot create them)."""
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ledger_entries'"
    ).fetchall()
    return bool(rows and rows[0][0])
