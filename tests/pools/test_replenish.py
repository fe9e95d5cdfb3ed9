"""`scf pool replenish`: a revolving pool whose asset repaid is topped up from the next night's
eligible set under the same limits; the added asset is reserved in the ledger, its files are
signed, and the pool still verifies."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from ledger.entries import PoolReserve
from pools.tape import read_tape_csv
from tests.conftest import REPO
from tests.integration.test_pipeline import query, run_ok
from tests.pools import test_pool_jobs as sample
from tests.pools.test_ledger import entries
from tests.pools.test_pool_jobs import BLOCKED, CLEAN, CRITERIA, POOL, cut, scf, verify
from warehouse.asof import verdicts_as_of_sql

NIGHT2 = "2026-11-21"
# the bill financing's waybill arrives (it was blocked for want of it) and the pooled voucher repays
WAYBILL = """<?xml version="1.0" encoding="UTF-8"?>
<Root>
  <Header>
    <MessageReferenceNumber>9f2c1d0e6a7b4c3d9e0f1a2b3c4d5e70</MessageReferenceNumber>
    <DocumentName>电子路单</DocumentName>
    <SenderCode>91440300MA5F00004K</SenderCode>
    <MessageSendingDateTime>20261030160000</MessageSendingDateTime>
  </Header>
  <Body>
    <ShippingNoteNumber>SD20261028007</ShippingNoteNumber>
    <OriginalDocumentNumber>4500012399</OriginalDocumentNumber>
    <Carrier>深圳顺达物流有限公司</Carrier>
    <UnifiedSocialCreditIdentifier>91440300MA5F00004K</UnifiedSocialCreditIdentifier>
    <ConsignmentDateTime>20261028080000</ConsignmentDateTime>
    <DespatchActualDateTime>20261028100000</DespatchActualDateTime>
    <GoodsReceiptDateTime>20261030153000</GoodsReceiptDateTime>
    <ConsignorInfo><Consignor>苏州恒隆新材料科技有限公司</Consignor><ConsignorID>91320500MA1X000024</ConsignorID>
      <PlaceOfLoading>江苏省苏州市吴中区</PlaceOfLoading><CountrySubdivisionCode>320506</CountrySubdivisionCode></ConsignorInfo>
    <ConsigneeInfo><Consignee>深圳市华星电子集团有限公司</Consignee><ConsigneeID>91440300MA5F00001A</ConsigneeID>
      <GoodsReceiptPlace>广东省深圳市南山区</GoodsReceiptPlace><CountrySubdivisionCode>440305</CountrySubdivisionCode></ConsigneeInfo>
    <GoodsInfo><DescriptionOfGoods>导光板 55寸</DescriptionOfGoods><Quantity>50</Quantity><MeaUnits>PC</MeaUnits>
      <GoodsItemGrossWeight>425.000</GoodsItemGrossWeight><TotalNumberOfPackages>5</TotalNumberOfPackages></GoodsInfo>
    <Status>3</Status>
  </Body>
</Root>
"""
night_home = sample.night_home  # the sample night's home
REVOLVING = CRITERIA.replace('target = "30000.00"\ntolerance = 0.10', 'target = "40000.00"\ntolerance = 0.30')


@pytest.fixture
def revolving(night_home: Path, tmp_path: Path) -> Path:
    """The sample night's home with a revolving pool of the voucher financing, and a second night
    on which that financing repays and the bill financing's missing waybill arrives."""
    home = tmp_path / "home"
    shutil.copytree(night_home, home)
    (home / "scf.toml").write_text('[bank]\ncode = "313521000011"\n', "utf-8")
    (tmp_path / "criteria.toml").write_text(REVOLVING, "utf-8")
    assert cut(home).exit_code == 0
    night = tmp_path / "inbox2" / NIGHT2
    (night / "logistics" / "91440300MA5F00004K").mkdir(parents=True)
    (night / "logistics" / "91440300MA5F00004K" / "waybills_0001.xml").write_text(WAYBILL, "utf-8")
    (night / "platform").mkdir()
    sample = (REPO / "docs" / "spec" / "samples" / "2026-11-20" / "platform" / "financings.csv")
    header, repaid = sample.read_text("utf-8").splitlines()[:2]
    (night / "platform" / "financings.csv").write_text(f"{header}\n{repaid.replace(',ACTIVE', ',REPAID')}\n", "utf-8")
    run_ok(home, tmp_path / "inbox2", dt.date(2026, 11, 21))
    return home


def test_replenish_tops_a_revolving_pool_up_from_the_nights_eligible_set(revolving: Path) -> None:
    home = revolving
    verdicts = dict(query(home, f"SELECT financing_id, verdict FROM ({verdicts_as_of_sql()})",
                          dt.date(2026, 11, 21)))
    assert verdicts == {CLEAN: "closed", BLOCKED: "clean"}
    result = scf("pool", "replenish", POOL, "--date", NIGHT2, "--home", str(home))
    assert result.exit_code == 0, result.output
    folder = home / "pools" / POOL / "replenishments" / NIGHT2
    (row,) = read_tape_csv(folder / "tape.csv")
    assert (row["financing_id"], row["outstanding_amount"]) == (BLOCKED, "50000.00")
    reserves = entries(home, "POOL_RESERVE")
    assert [(r.pool_id, r.financing_id) for r in reserves] == [(POOL, CLEAN), (POOL, BLOCKED)]
    assert isinstance(reserves[1], PoolReserve) and str(reserves[1].financing_seq) == row["ledger_leaf_index"]
    doc = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert doc["replenishment"] == {"date": NIGHT2, "kept_assets": 0, "added_assets": 1}
    assert all(m["holds"] for m in doc["limits_measured"])  # the same limits, on the whole pool
    assert query(home, "SELECT financing_id, added_on FROM pool_assets WHERE pool_id = ? ORDER BY added_on", POOL) == [
        (CLEAN, dt.date(2026, 11, 20)), (BLOCKED, dt.date(2026, 11, 21))]
    checked = verify(home, POOL)
    assert checked.exit_code == 0, checked.output
    # once full, the pool has nothing to add; a tampered replenishment tape fails verify
    again = scf("pool", "replenish", POOL, "--date", NIGHT2, "--home", str(home))
    assert again.exit_code == 0 and "nothing to add" in again.output
    tape = folder / "tape.csv"
    tape.write_text(tape.read_text("utf-8").replace("50000.00", "5000.00"), "utf-8")
    tampered = verify(home, POOL)
    assert tampered.exit_code == 1
    assert f"replenishment {NIGHT2}: tape.csv does not match its SHA-256" in " ".join(tampered.output.split())


def test_replenish_refuses_a_released_pool(revolving: Path) -> None:
    assert scf("pool", "release", POOL, "--on", NIGHT2, "--home", str(revolving)).exit_code == 0
    result = scf("pool", "replenish", POOL, "--date", NIGHT2, "--home", str(revolving))
    assert result.exit_code == 1 and "only an active pool is replenished" in str(result.exception)
