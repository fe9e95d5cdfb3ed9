"""One "version of record as of night D" for the checks and the ledger (issue 14 §1).

An invoice and a financing arrive in two files of one night with other amounts: the file the
archive received later wins, whatever the files' hashes or the records' positions, and the
checks' ``cur_*`` views and the ledger's inputs (fingerprint facts, financing versions) agree.
"""

from __future__ import annotations

import datetime as dt

from ledger.inputs import financings_as_of, first_financings, tax_invoice_facts
from tests.factories import insert
from warehouse.asof import create_asof_views
from warehouse.connection import Warehouse
from warehouse.schemas import FILES

NIGHT = dt.date(2026, 3, 2)
INVOICE = "26320000000000000042"
# The file received first has the larger hash and the records at the later positions: the old
# spellings (position before hash; hash before position) both chose it.
FIRST = "f" * 64
LATER = "0" * 64


def _deliver(wh: Warehouse, sha: str, seq: int, pos: int, total_fen: int, financed_fen: int) -> None:
    row = FILES.Row(business_date=NIGHT, rel_path=f"platform/{seq}.csv", sha256=sha, size=1, file_kind="financings",
                    status="loaded", rows=1, quarantined=0, superseded=None, seq=seq)
    wh.append("files", FILES.arrow([row]))
    insert(wh, "tax_invoices", NIGHT, src_sha256=sha, src_pos=pos, invoice_no=INVOICE, total_fen=total_fen,
           seller_uscc="91320500MA1X000024", buyer_uscc="91440300MA5F00001A")
    insert(wh, "financings", NIGHT, src_sha256=sha, src_pos=pos, financing_id="FIN-1", product="INVOICE",
           asset_invoice_no=INVOICE, face_amount_fen=total_fen, financed_amount_fen=financed_fen)


def test_later_file_of_the_night_wins_for_checks_and_ledger(wh: Warehouse) -> None:
    _deliver(wh, FIRST, seq=3, pos=9, total_fen=10_000, financed_fen=9_000)
    _deliver(wh, LATER, seq=7, pos=2, total_fen=90_000, financed_fen=81_000)
    create_asof_views(wh.con, NIGHT)
    checks_invoice = wh.con.execute("SELECT total_fen FROM cur_tax_invoices").fetchall()
    checks_financing = wh.con.execute("SELECT financed_amount_fen FROM cur_financings").fetchall()
    assert checks_invoice == [(90_000,)] and checks_financing == [(81_000,)]
    assert tax_invoice_facts(wh.con, [INVOICE], NIGHT)[INVOICE].total_fen == 90_000
    versions = [d.financing.financed_amount_fen for batch in financings_as_of(wh.con, NIGHT) for d in batch]
    assert versions == [81_000]
    first = first_financings(wh.con, ["FIN-1"], NIGHT)["FIN-1"]
    assert first.terms.face_amount_fen == 90_000 and first.night == NIGHT


def test_rows_of_unregistered_files_fall_back_to_position(wh: Warehouse) -> None:
    """Rows the file register does not know (a warehouse filled by hand) keep a total order: position, then hash."""
    for sha, pos, fen in ((LATER, 9, 10_000), (FIRST, 2, 90_000)):
        insert(wh, "tax_invoices", NIGHT, src_sha256=sha, src_pos=pos, invoice_no=INVOICE, total_fen=fen)
    create_asof_views(wh.con, NIGHT)
    assert wh.con.execute("SELECT total_fen FROM cur_tax_invoices").fetchall() == [(10_000,)]
    assert tax_invoice_facts(wh.con, [INVOICE], NIGHT)[INVOICE].total_fen == 10_000
