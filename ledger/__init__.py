"""The hashed voucher ledger: append-only, verifiable, with the invariants of money.

Every accepted voucher event and financing becomes an entry with canonical bytes
(:mod:`ledger.entries`), a leaf of an RFC 9162 Merkle tree (:mod:`ledger.merkle`, stored
by :mod:`ledger.store`), checked against the voucher state machine first
(:mod:`ledger.invariants`); refusals are kept with their reasons
(:mod:`ledger.rejections`).  Tree heads are published as C2SP signed checkpoints that
other banks cosign in tlog-cosignature v1 (:mod:`ledger.checkpoint`, :mod:`ledger.publish`,
:mod:`ledger.witness`), and anyone
can check entries and proofs without trusting the ledger (:mod:`ledger.verify`, which
verifies :mod:`ledger.segments` side by side in worker processes, and
:mod:`ledger.proofcheck`).

Entry points:

* :func:`append_night` -- the nightly step (the orchestration's asset calls it);
* :func:`verify_ledger`, :func:`voucher_lineage`;
* ``integration.ledger_cli.ledger_app`` -- ``scf ledger verify|prove|checkpoint|cosign|lineage``;
* :mod:`ledger.keys` -- key files for the caller to load and pass in.
"""

from __future__ import annotations

from ledger.lineage import voucher_lineage
from ledger.nightly import NightResult, append_night
from ledger.verify import VerifyReport, verify_ledger

__all__ = [
    "NightResult",
    "VerifyReport",
    "append_night",
    "verify_ledger",
    "voucher_lineage",
]
