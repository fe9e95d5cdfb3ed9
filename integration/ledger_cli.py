"""``scf ledger …``: verify, prove, checkpoint, cosign, lineage (and export fingerprints).

Every command takes ``--home`` (default ``$SCF_HOME`` or ``./home``) and opens
``<home>/warehouse.duckdb``.  Its defaults come from the home's validated settings (the same
object the night uses, :func:`integration.settings.load_settings`): the signing key file,
checkpoints under ``<home>/ledger/checkpoints/``, the log's origin (``$SCF_LEDGER_ORIGIN``
first) and key name.  The log key is the one pinned by ``scf init``
(``<home>/ledger/keys/log.vkey``); a bank verifying someone else's ledger pins it with
``--log-key`` (a verifier key ``name+id+key`` or a PEM file).  No command creates a key.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import duckdb
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.table import Table

from foundation.errors import ScfError
from foundation.values import format_fen
from integration.progress import RichRenderer, rendered_by, stage
from ledger.checkpoint import (
    COSIGNATURE_V1_ALG,
    Checkpoint,
    CheckpointError,
    NoteSigner,
    NoteVerifier,
    cosign,
    decode_note,
    parse_note,
)
from ledger.families import differing_links
from ledger.fingerprints import export_fingerprints, import_peer_fingerprints
from ledger.keys import default_log_vkey_path, load_signing_key, load_verifier
from ledger.lineage import voucher_lineage
from ledger.merkle import leaf_hash
from ledger.proofcheck import verify_consistency, verify_inclusion
from ledger.publish import load_checkpoints, publish_checkpoint, write_atomically
from ledger.schema import ensure_schema, has_schema
from ledger.state import all_vouchers, replay_vouchers
from ledger.store import LedgerStore, row_keys
from ledger.touched import differing_digests
from ledger.verify import verify_ledger
from ledger.witness import witness_cosign

ledger_app = typer.Typer(
    help="The hashed voucher ledger (RFC 9162 tree, signed checkpoints).", no_args_is_help=True
)
console = Console(soft_wrap=True)

HOME = typer.Option(None, "--home", help="Engine home folder (default $SCF_HOME or ./home).")
ORIGIN = typer.Option(None, "--origin", help="Log origin (default $SCF_LEDGER_ORIGIN).")
KEY_NAME = typer.Option(None, "--key-name", help="Log key name (default: the origin).")
LOG_KEY = typer.Option(
    None, "--log-key", help="Pinned log key: verifier key text or PEM file (default: the key pinned by scf init)."
)
CHECKPOINTS = typer.Option(None, "--checkpoints", help="Checkpoint folder (default <home>/ledger/checkpoints).")


def _settings(home: Path | None) -> Any:
    from integration.settings import load_settings  # here: integration.settings imports this module

    return load_settings(home)


def _home(home: Path | None) -> Path:
    return _settings(home).home


def _origin(origin: str | None, home: Path) -> str:
    return origin or os.environ.get("SCF_LEDGER_ORIGIN") or _settings(home).ledger.origin


def _key_name(key_name: str | None, origin: str, home: Path) -> str:
    return key_name or _settings(home).ledger.key_name or origin


def _signing_key_file(home: Path) -> Path:
    settings = _settings(home)
    return settings.under_home(settings.ledger.signing_key_file)


def _checkpoint_dir(home: Path, checkpoints: Path | None) -> Path:
    return checkpoints or _settings(home).checkpoint_dir


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]{message}[/red]")
    return typer.Exit(code)


def _connect(home: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    path = home / "warehouse.duckdb"
    if not path.exists():
        raise _fail(f"no warehouse at {path}", 2)
    con = duckdb.connect(str(path), read_only=read_only)
    if read_only and not has_schema(con):
        con.close()
        raise _fail(f"the warehouse at {path} has no ledger yet", 2)
    if not read_only:
        ensure_schema(con)
    return con


def _log_verifier(home: Path, log_key: str | None, key_name: str) -> NoteVerifier:
    pinned = default_log_vkey_path(home)
    if not log_key and not pinned.is_file():
        raise _fail(f"no pinned log key at {pinned}: run `scf init --home {home}` or give --log-key", 2)
    try:
        return load_verifier(log_key or str(pinned), key_name)
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot load the log key: {exc}", 2) from None


def _signing_key(path: Path) -> Ed25519PrivateKey:
    if not path.is_file():
        raise _fail(f"no signing key at {path}: run `scf init` for the home, or give --key", 2)
    try:
        return load_signing_key(path)
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot load the signing key: {exc}", 2) from None


def _fingerprint_key(home: Path) -> bytes:
    from integration.home import ledger_keys  # integration builds on ledger: imported when needed
    from integration.settings import load_settings

    try:
        return ledger_keys(load_settings(home)).fingerprint_key
    except ScfError as error:
        raise _fail(str(error), 2) from None


@ledger_app.command()
def verify(
    home: Path | None = HOME,
    since: int | None = typer.Option(None, "--since", help="Start from the signed checkpoint of this size."),
    origin: str | None = ORIGIN,
    key_name: str | None = KEY_NAME,
    log_key: str | None = LOG_KEY,
    witness: list[str] = typer.Option(
        [], "--witness",
        help="Known cosigner key (verifier key text: type 04 = tlog-cosignature v1; a pinned 01 key accepts "
        "that cosigner's legacy pre-v1 lines); repeatable.",
    ),
    quorum: int = typer.Option(0, "--quorum", help="Cosignatures required on every checkpoint."),
    checkpoints: Path | None = CHECKPOINTS,
    nodes: bool = typer.Option(False, "--nodes", help="Also check every stored interior node."),
    state: bool = typer.Option(False, "--state", help="Also replay the events and compare voucher states."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Processes verifying segments side by side (default: one per CPU)."
    ),
) -> None:
    """Verify the whole ledger (or from a checkpoint) and name the first bad entry."""
    home = _home(home)
    origin = _origin(origin, home)
    log = _log_verifier(home, log_key, _key_name(key_name, origin, home))
    try:
        witnesses = [NoteVerifier.from_vkey(w) for w in witness]
    except CheckpointError as exc:
        raise _fail(f"bad --witness: {exc}", 2) from None
    con = _connect(home, read_only=True)
    try:
        found, problems = load_checkpoints(
            con, _checkpoint_dir(home, checkpoints), origin=origin, log=log, witnesses=witnesses, quorum=quorum
        )
        start = None
        if since is not None:
            start = next((s.checkpoint for s in found if s.checkpoint.size == since), None)
            if start is None:
                raise _fail(f"no verified checkpoint of size {since}", 2)
        total = LedgerStore(con).head().size - (start.size if start else 0)
        with (
            RichRenderer(console) as bars,
            rendered_by(bars),
            stage("ledger verify", total=total, unit="entries") as entries,
        ):
            report = verify_ledger(
                con, trusted=[s.checkpoint for s in found], since=start, check_nodes=nodes, workers=workers,
                on_entries=entries.advance,
            )
        failed = not report.ok or bool(problems)
        for problem in problems:
            console.print(f"[red]FAILED (checkpoint): {problem}[/red]")
        console.print(report.summary(), style="green" if report.ok else "red")
        if state:
            replayed, refused = replay_vouchers(con)
            for seq, rejection in refused[:10]:
                console.print(f"[red]entry {seq} breaks {rejection.check_id}: {rejection.reason}[/red]")
            stored = all_vouchers(con)
            differ = sorted(v for v in set(replayed) | set(stored) if replayed.get(v) != stored.get(v))
            for vid in differ[:10]:
                console.print(f"[red]voucher {vid}: stored state differs from the replayed entries[/red]")
            failed = failed or bool(refused) or bool(differ)
            if not refused and not differ:
                console.print(f"voucher states: {len(stored)} match the replayed entries", style="green")
            failed = _check_families(con) or failed
            failed = _check_input_digests(con) or failed
    finally:
        con.close()
    raise typer.Exit(1 if failed else 0)


def _check_families(con: duckdb.DuckDBPyConnection) -> bool:
    """Print whether the kept voucher families are those rebuilt from the delivered events; return whether they differ."""
    differing = differing_links(con)
    if differing is None:
        console.print("voucher families: none kept yet (the next night rebuilds them)")
        return False
    for event_id, voucher_id, kept, rebuilt in differing:
        console.print(f"[red]voucher family link {event_id} -> {voucher_id}: kept {kept or 'none'}, "
                      f"rebuilt from the events {rebuilt or 'none'} (a --full night rebuilds the table)[/red]")
    if not differing:
        console.print("voucher families: the kept links match those rebuilt from the events", style="green")
    return bool(differing)


def _check_input_digests(con: duckdb.DuckDBPyConnection) -> bool:
    """Print whether the input digests the next night builds on are those of the input rows; return whether they differ."""
    differing = differing_digests(con)
    if differing is None:
        console.print("input digests: none kept yet (the next night replays everything)")
        return False
    for problem in differing[:10]:
        console.print(f"[red]input digest: {problem} (a --full night computes them again)[/red]")
    if not differing:
        console.print("input digests: the kept digests match the input rows", style="green")
    return bool(differing)


def _targets(store: LedgerStore, target: str) -> list[int]:
    """The entries naming ``target``: found through the index columns, then checked against
    the entries themselves (a rewritten index column must not yield a proof)."""
    if target.isdigit():
        return [int(target)]
    seqs = store.find_seqs(event_id=target, financing_id=target, voucher_id=target)
    for seq in seqs:
        entry = store.entry(seq)
        if entry is None or target not in row_keys(entry.record)[1:4]:
            raise _fail(f"the index of entry {seq} names {target!r} but the entry does not: run `scf verify`", 1)
    return seqs


@ledger_app.command()
def prove(
    target: str = typer.Argument(..., help="Entry seq, voucher id, event id or financing id."),
    home: Path | None = HOME,
    size: int | None = typer.Option(None, "--size", help="Tree size to prove against (default: latest checkpoint)."),
    old_size: int | None = typer.Option(None, "--old-size", help="Also prove consistency from this size."),
    checkpoints: Path | None = CHECKPOINTS,
) -> None:
    """Inclusion proofs (JSON) of an entry, or of every entry of a voucher/event/financing."""
    home = _home(home)
    con = _connect(home, read_only=True)
    try:
        store = LedgerStore(con)
        head = store.head()
        note = None
        if size is None:
            latest = _latest_note(_checkpoint_dir(home, checkpoints))
            size, note = (latest[0].size, latest[1]) if latest else (head.size, None)
        if not 0 < size <= head.size:
            raise _fail(f"no tree of size {size} (the ledger has {head.size} entries)", 2)
        root = store.root_at(size)
        seqs = [s for s in _targets(store, target) if s < size]
        if not seqs:
            raise _fail(f"no entry matching {target!r} in the tree of size {size}", 2)
        out: dict[str, Any] = {"tree_size": size, "root": base64.b64encode(root).decode(), "checkpoint": note}
        out["inclusion"] = []
        ok = True
        for seq in seqs:
            found = store.entry_bytes(seq)
            assert found is not None
            entry, _ = found
            lh = leaf_hash(entry)
            proof = store.inclusion_proof(seq, size)
            good = verify_inclusion(lh, seq, size, proof, root)
            ok = ok and good
            out["inclusion"].append(
                {
                    "seq": seq,
                    "entry": base64.b64encode(entry).decode(),
                    "leaf_hash": base64.b64encode(lh).decode(),
                    "proof": [base64.b64encode(p).decode() for p in proof],
                    "verified": good,
                }
            )
        if old_size is not None:
            if not 0 < old_size <= size:  # RFC 9162: no consistency proof from the empty tree
                raise _fail(f"--old-size must be between 1 and {size}", 2)
            old_root = store.root_at(old_size)
            proof = store.consistency_proof(old_size, size)
            good = verify_consistency(old_size, size, old_root, root, proof)
            ok = ok and good
            out["consistency"] = {
                "old_size": old_size,
                "old_root": base64.b64encode(old_root).decode(),
                "proof": [base64.b64encode(p).decode() for p in proof],
                "verified": good,
            }
    finally:
        con.close()
    typer.echo(json.dumps(out, indent=2))
    raise typer.Exit(0 if ok else 1)


def _latest_note(folder: Path) -> tuple[Checkpoint, str] | None:
    best: tuple[Checkpoint, str] | None = None
    for path in folder.glob("*.txt") if folder.is_dir() else []:
        try:
            text = decode_note(path.read_bytes())
            cp = Checkpoint.parse(parse_note(text).body)
        except (CheckpointError, OSError):
            continue
        if best is None or cp.size > best[0].size:
            best = (cp, text)
    return best


@ledger_app.command()
def checkpoint(
    home: Path | None = HOME,
    key: Path | None = typer.Option(None, "--key", help="Log signing key PEM (default <home>/ledger/keys/signing_key.pem)."),
    origin: str | None = ORIGIN,
    key_name: str | None = KEY_NAME,
    checkpoints: Path | None = CHECKPOINTS,
) -> None:
    """Sign the current tree head as <checkpoints>/<size>.txt (refuses to contradict)."""
    home = _home(home)
    origin = _origin(origin, home)
    signing_key = _signing_key(key or _signing_key_file(home))
    con = _connect(home, read_only=False)
    try:
        published = publish_checkpoint(
            con,
            checkpoint_dir=_checkpoint_dir(home, checkpoints),
            signer=NoteSigner(_key_name(key_name, origin, home), signing_key),
            origin=origin,
        )
    except CheckpointError as exc:
        raise _fail(f"refused: {exc}") from None
    finally:
        con.close()
    console.print(f"signed {published.source}", style="green")
    typer.echo(published.note, nl=False)


@ledger_app.command("cosign")
def cosign_command(
    checkpoint_file: Path = typer.Argument(..., help="The checkpoint note to cosign."),
    key: Path = typer.Option(..., "--key", help="Your (cosigning bank's) Ed25519 key PEM."),
    name: str = typer.Option(..., "--name", help="Your key name."),
    home: Path | None = HOME,
    origin: str | None = ORIGIN,
    key_name: str | None = KEY_NAME,
    log_key: str | None = LOG_KEY,
    out: Path | None = typer.Option(None, "--out", help="Write here instead of in place."),
    state: Path | None = typer.Option(
        None, "--state",
        help="Your record of the last checkpoint you cosigned for this log (created on first use): "
        "cosign only a tree that extends it, as a C2SP witness does.",
    ),
    proof: Path | None = typer.Option(
        None, "--proof", help="With --state: the JSON of `scf ledger prove … --old-size <its size> --size <new size>`."
    ),
) -> None:
    """Add your tlog-cosignature v1 to a checkpoint the pinned log signed."""
    home = _home(home)
    origin = _origin(origin, home)
    log = _log_verifier(home, log_key, _key_name(key_name, origin, home))
    if proof is not None and state is None:
        raise _fail("--proof needs --state (the checkpoint the proof starts from)", 2)
    hashes = _consistency_proof(proof)
    try:
        signer = NoteSigner(name, _signing_key(key), COSIGNATURE_V1_ALG)
        note = decode_note(checkpoint_file.read_bytes())
        if state is None:
            text = cosign(note, signer, origin=origin, log=log)
        else:
            previous = decode_note(state.read_bytes()) if state.exists() else None
            text = witness_cosign(note, signer, origin=origin, log=log, previous=previous, proof=hashes)
    except (CheckpointError, OSError, ValueError) as exc:
        raise _fail(f"refused: {exc}") from None
    write_atomically(out or checkpoint_file, text)
    if state is not None:
        write_atomically(state, text)
    console.print(f"cosigned by {name}; verifier key {signer.verifier().vkey()}", style="green")


def _consistency_proof(path: Path | None) -> list[bytes]:
    """The consistency proof in a ``scf ledger prove --old-size`` JSON file (none without one)."""
    if path is None:
        return []
    try:
        hashes = json.loads(path.read_text(encoding="utf-8"))["consistency"]["proof"]
        return [base64.b64decode(h, validate=True) for h in hashes]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _fail(f"--proof {path} is not the JSON of `scf ledger prove --old-size`: {exc!r}", 2) from None


@ledger_app.command()
def lineage(
    voucher: str = typer.Argument(..., help="Voucher id."),
    home: Path | None = HOME,
    as_of: dt.datetime | None = typer.Option(None, "--as-of", formats=["%Y-%m-%d"], help="As of a night."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The chain of a voucher back to its ISSUE: tiers, holders, invoices, financings."""
    con = _connect(_home(home), read_only=True)
    try:
        found = voucher_lineage(con, voucher, as_of=as_of.date() if as_of else None)
    finally:
        con.close()
    if found is None:
        raise _fail(f"voucher {voucher} is not in the ledger", 2)
    if as_json:
        typer.echo(json.dumps(_lineage_json(found), indent=2, ensure_ascii=False))
        return
    console.print(
        f"voucher {found.voucher_id}: tier {found.tier}, chain {' → '.join(found.chain)}, "
        f"holders {' → '.join(found.holders)}"
    )
    table = Table("seq", "night", "event", "type", "voucher", "from", "to", "amount", "tier", "invoices")
    for s in found.steps:
        table.add_row(
            str(s.seq), str(s.business_date), s.event_id, s.event_type or "", s.voucher_id or "",
            s.from_uscc or "", s.to_uscc or "", format_fen(s.amount_fen) if s.amount_fen is not None else "",
            str(s.tier), "; ".join(f"{i.invoice_no}:{format_fen(i.amount_fen or 0)}" for i in s.invoices),
        )
    console.print(table)
    for seq, fin in found.financings:
        console.print(f"financing {fin.financing_id} (entry {seq}): bank {fin.bank_code}, "
                      f"face {format_fen(fin.face_amount_fen or 0)}, status {fin.status}")
    for r in found.rejections:
        console.print(f"[red]{r.business_date} {r.check_id}: {r.reason}[/red]")


def _lineage_json(found: Any) -> dict[str, Any]:
    from dataclasses import asdict

    data = asdict(found)
    data["invoices"] = list(found.invoices)
    return json.loads(json.dumps(data, default=str))


@ledger_app.command("export-fingerprints")
def export_fingerprints_command(
    out: Path = typer.Argument(..., help="CSV to write: kind, digest, first_seen, amount_fen."),
    home: Path | None = HOME,
    as_of: dt.datetime | None = typer.Option(None, "--as-of", formats=["%Y-%m-%d"]),
) -> None:
    """Export the fingerprints of financed assets (keyed hashes only, no invoice data), with a
    commitment to the key so that a bank holding another key refuses them."""
    home = _home(home)
    fingerprint_key = _fingerprint_key(home)
    con = _connect(home, read_only=True)
    try:
        count = export_fingerprints(con, out, fingerprint_key=fingerprint_key, as_of=as_of.date() if as_of else None)
    finally:
        con.close()
    console.print(f"{count} fingerprints written to {out}")


@ledger_app.command("import-fingerprints")
def import_fingerprints_command(
    export: Path = typer.Argument(..., help="A peer bank's export-fingerprints CSV."),
    peer: str = typer.Option(..., "--peer", help="Name of the bank the export comes from."),
    effective: dt.datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"],
                                          help="First business date whose checks see these fingerprints."),
    home: Path | None = HOME,
) -> None:
    """Import a peer bank's fingerprints (same shared key): later nights flag our financings of
    the same invoice, bill range or voucher (check DUP_FINANCED_AT_PEER_BANK). An export made
    under another key (its key commitment differs from ours) is refused."""
    home = _home(home)
    fingerprint_key = _fingerprint_key(home)
    con = _connect(home, read_only=False)
    try:
        count = import_peer_fingerprints(con, peer, export, fingerprint_key=fingerprint_key,
                                         imported_on=effective.date())
    except (ValueError, ScfError) as error:
        raise _fail(str(error), 2) from None
    finally:
        con.close()
    console.print(f"{count} fingerprints of {peer} imported, effective {effective.date()}")
