"""Fingerprints of financed assets: keyed hashes that find a duplicate across all history.

Each financing's assets are fingerprinted with HMAC-SHA256 under a key from the
configuration (passed in, never logged, never stored in the warehouse):

* ``INVOICE_ID``      -- (seller, invoice no) of every invoice financed or presented;
* ``INVOICE_CONTENT`` -- (seller, invoice no, buyer, total, issue date), when the invoice
  is in ``tax_invoices``: two financings citing the same invoice, whatever its number;
* ``BILL``            -- the bill package number; ``BILL_RANGE`` -- package and sub-range;
* ``VOUCHER``         -- the voucher id.

The fingerprints go into the financing's ledger entry (so they are signed with the tree)
and into ``ledger_fingerprints``.  A digest shared by two financings is a duplicate
candidate (invoices may legitimately back parts of one trade: compare the amounts).
Exporting the digests lets a bank sharing the key match them without seeing invoices.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path

import duckdb
import pyarrow as pa

from foundation.errors import IntegrityError
from ledger.compiled import load_codec
from ledger.entries import FinancingRecord, Fingerprint, FingerprintAnnex, encode_values, records_from_columns
from ledger.inputs import InvoiceFacts
from ledger.store import AppendedEntry, insert_arrow


class FingerprintKind(StrEnum):
    """What a fingerprint is of (``ledger_fingerprints.kind``, the peer exchange's ``kind``; module docstring)."""

    INVOICE_ID = "INVOICE_ID"
    INVOICE_CONTENT = "INVOICE_CONTENT"
    BILL = "BILL"
    BILL_RANGE = "BILL_RANGE"
    VOUCHER = "VOUCHER"


KEY_COMMITMENT_LABEL = b"scf-recon fingerprint key commitment v1"


def key_commitment(key: bytes) -> str:
    """HMAC-SHA256(key, :data:`KEY_COMMITMENT_LABEL`) in hex: names the key without revealing it.

    Two banks whose commitments differ hold different keys: their fingerprints never match.
    """
    return hmac.new(key, KEY_COMMITMENT_LABEL, hashlib.sha256).hexdigest()


def _check_key(key: bytes) -> None:
    if len(key) < 16:
        raise ValueError("fingerprint key must be at least 16 bytes")


_KIND_PREFIX = {kind: encode_values(kind.value) for kind in FingerprintKind}
"""Each kind's encoding, the first part of what a fingerprint's digest hashes (:func:`_digests`)."""


_hmac_values = load_codec().hmac_values
"""HMAC-SHA256 of each message's values encoded as :func:`~ledger.entries.encode_values` does, in one call
(``ledger/_codec.c``; ``None``: a value it leaves to ``encode_values``)."""


@functools.lru_cache(maxsize=2)
def _keyed(key: bytes) -> hmac.HMAC:
    """HMAC-SHA256 keyed with ``key`` over nothing yet: each digest continues a copy (the key's
    padding is hashed once, not once a fingerprint)."""
    _check_key(key)
    return hmac.new(key, digestmod=hashlib.sha256)


def _digests(key: bytes, wanted: Sequence[tuple[FingerprintKind, int | None, tuple]]) -> tuple[Fingerprint, ...]:
    """The fingerprints of (kind, amount, parts): each digest HMAC-SHA256 under ``key`` over the kind and
    the parts, each length-prefixed (:func:`~ledger.entries.encode_values`)."""
    if not wanted:
        return ()
    keyed = _keyed(key)
    kinds = [kind.value for kind, _, _ in wanted]
    digests = _hmac_values(key, [(kind, *parts) for kind, (_, _, parts) in zip(kinds, wanted, strict=True)])
    if digests is None:  # a value the compiled codec leaves to encode_values (which raises its error)
        digests = []
        for kind, _, parts in wanted:
            mac = keyed.copy()
            mac.update(_KIND_PREFIX[kind] + encode_values(*parts))
            digests.append(mac.digest())
    made = records_from_columns(Fingerprint, {"kind": kinds, "digest": digests, "amount_fen": [a for _, a, _ in wanted]})
    return tuple(made)


def financed_invoices(fin: FinancingRecord) -> dict[str, int | None]:
    """Invoices a financing rests on, with the amount each is presented for."""
    out: dict[str, int | None] = {}
    for inv in fin.invoices:
        if inv.invoice_no:
            prior = out.get(inv.invoice_no) or 0
            out[inv.invoice_no] = prior + (inv.amount_fen or 0)
    if fin.asset_invoice_no and fin.asset_invoice_no not in out:
        out[fin.asset_invoice_no] = fin.face_amount_fen
    return out


def financing_fingerprints(
    fin: FinancingRecord, invoices: Mapping[str, InvoiceFacts], key: bytes
) -> FingerprintAnnex:
    """The fingerprints of one financing's assets (``invoices``: facts from tax_invoices)."""
    wanted: list[tuple[FingerprintKind, int | None, tuple]] = []
    for no, amount in sorted(financed_invoices(fin).items()):
        facts = invoices.get(no)
        seller = facts.seller_uscc if facts and facts.seller_uscc else fin.applicant_uscc
        wanted.append((FingerprintKind.INVOICE_ID, amount, (seller, no)))
        if facts is not None:
            wanted.append((FingerprintKind.INVOICE_CONTENT, amount,
                           (seller, no, facts.buyer_uscc, facts.total_fen, facts.issue_date)))
    if fin.asset_cd_no:
        start, end = fin.asset_range_start, fin.asset_range_end
        units = end - start + 1 if start is not None and end is not None else fin.face_amount_fen
        wanted.append((FingerprintKind.BILL, units, (fin.asset_cd_no,)))
        wanted.append((FingerprintKind.BILL_RANGE, units, (fin.asset_cd_no, start, end)))
    if fin.asset_voucher_id:
        wanted.append((FingerprintKind.VOUCHER, fin.face_amount_fen, (fin.asset_voucher_id,)))
    return FingerprintAnnex(_digests(key, wanted))


def record_fingerprints(
    con: duckdb.DuckDBPyConnection, appended: Sequence[AppendedEntry], business_date: dt.date
) -> int:
    """Write the fingerprints of newly appended financing entries; returns how many."""
    seqs: list[int] = []  # each fingerprint's entry, financing and fields, as columns
    owners: list[str] = []
    kinds: list[str] = []
    digests: list[bytes] = []
    amounts: list[int | None] = []
    for item in appended:
        if not isinstance(item.annex, FingerprintAnnex):
            continue
        assert isinstance(item.record, FinancingRecord)
        prints = item.annex.fingerprints
        seqs += [item.seq] * len(prints)
        owners += [item.record.financing_id] * len(prints)
        for fp in prints:
            kinds.append(fp.kind)
            digests.append(fp.digest)
            amounts.append(fp.amount_fen)
    table = pa.table(
        {
            "seq": pa.array(seqs, pa.int64()),
            "business_date": pa.array([business_date] * len(seqs), pa.date32()),
            "financing_id": pa.array(owners, pa.string()),
            "kind": pa.array(kinds, pa.string()),
            "digest": pa.array(digests, pa.binary()),
            "amount_fen": pa.array(amounts, pa.int64()),
        }
    )
    insert_arrow(con, "ledger_fingerprints", table)
    return table.num_rows


EXPORT_COLUMNS = ("kind", "digest", "first_seen", "amount_fen")
EXPORT_HEADER = "# scf-recon fingerprint export v1; key commitment "
"""The first line of an export, followed by the exporting key's :func:`key_commitment`."""


def export_fingerprints(
    con: duckdb.DuckDBPyConnection, path: Path, *, fingerprint_key: bytes, as_of: dt.date | None = None
) -> int:
    """Write every fingerprint (kind, hex digest, first seen, amount) of the financings standing
    (as of ``as_of``, or now) as CSV; no invoice data.

    The first line commits to the key (:data:`EXPORT_HEADER`), so that a bank holding
    another key refuses the export instead of importing digests that can never match.
    """
    rows = con.execute(
        "SELECT kind, digest, min(first_seen), max(amount_fen) FROM ledger_fingerprints_as_of(?) "
        "GROUP BY kind, digest ORDER BY kind, digest",
        [as_of or dt.date.max],
    ).fetchall()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        fh.write(EXPORT_HEADER + key_commitment(fingerprint_key) + "\n")
        writer = csv.writer(fh)
        writer.writerow(EXPORT_COLUMNS)
        for kind, digest, first_seen, amount in rows:
            writer.writerow([kind, bytes(digest).hex(), first_seen.isoformat(), "" if amount is None else amount])
    return len(rows)


def _check_commitment(path: Path, first_line: str, fingerprint_key: bytes) -> None:
    """Refuse an export without a key commitment, or made under another key."""
    line = first_line.rstrip("\r\n")
    if not line.startswith(EXPORT_HEADER):
        raise IntegrityError(
            f"{path} carries no key commitment (first line {EXPORT_HEADER.strip()!r} expected): "
            "ask the peer bank for an export made by `scf ledger export-fingerprints`"
        )
    theirs = line[len(EXPORT_HEADER):].strip()
    if not hmac.compare_digest(theirs, key_commitment(fingerprint_key)):
        raise IntegrityError(
            f"{path} was made with another fingerprint key (commitment {theirs[:16]}…, ours "
            f"{key_commitment(fingerprint_key)[:16]}…): its fingerprints can never match ours; "
            "agree on the shared key with the peer bank and ask for a new export"
        )


def import_peer_fingerprints(
    con: duckdb.DuckDBPyConnection, peer: str, path: Path, *, fingerprint_key: bytes, imported_on: dt.date
) -> int:
    """Replace ``peer``'s fingerprints by those of its export (as :func:`export_fingerprints`
    writes it, under our key); the checks of ``imported_on`` and later nights see them.
    Returns the count; raises :class:`~foundation.errors.IntegrityError` for an export made
    under another key, ``ValueError`` for one that is not an export."""
    with path.open(newline="", encoding="utf-8") as fh:
        _check_commitment(path, fh.readline(), fingerprint_key)
        rows = list(csv.DictReader(fh))
    if rows and set(EXPORT_COLUMNS) - set(rows[0]):
        raise ValueError(f"{path} is not a fingerprint export: columns {', '.join(EXPORT_COLUMNS)} expected")
    unknown = {r["kind"] for r in rows} - set(FingerprintKind)
    if unknown:
        raise ValueError(f"{path} holds unknown fingerprint kinds: {', '.join(sorted(unknown))}")
    table = pa.table(
        {
            "peer": pa.array([peer] * len(rows), pa.string()),
            "kind": pa.array([r["kind"] for r in rows], pa.string()),
            "digest": pa.array([bytes.fromhex(r["digest"]) for r in rows], pa.binary()),
            "first_seen": pa.array([dt.date.fromisoformat(r["first_seen"]) if r["first_seen"] else None for r in rows],
                                   pa.date32()),
            "amount_fen": pa.array([int(r["amount_fen"]) if r["amount_fen"] else None for r in rows], pa.int64()),
            "imported_on": pa.array([imported_on] * len(rows), pa.date32()),
        }
    )
    con.execute("DELETE FROM peer_fingerprints WHERE peer = ?", [peer])
    insert_arrow(con, "peer_fingerprints", table)
    return table.num_rows
