"""Tests of the synthetic bank (``simulator``).

Besides determinism and the INPUTS.md layout, the planted truth is verified by an
*oracle*: a plain, independent reading of the delivered files that applies each check
of the catalogue the way a correct engine would.  Every unlabelled financing must pass
every check on every night; every anomaly must be caught by its check exactly from its
``business_date``; every look-alike must pass.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest
from lxml import etree
from stdnum.cn import uscc

from foundation.values import (
    parse_compact_datetime,
    parse_decimal,
    parse_fen,
    parse_invoice_refs,
    parse_invoice_time,
    parse_iso_date,
    parse_offset_datetime,
    parse_tax_rate,
    parse_yyyymmdd,
)
from simulator import Tuning, simulate
from tests.conftest import REPO

SMALL = Tuning(tax_batch_size=80, waybill_batch_size=30, bill_batch_size=10, per_kind=2)
NIGHTS = 4
ORDER = re.compile(r"订单(\S+)")
INVOICE_NO = re.compile(r"\d{20}")

ANOMALY_KINDS = {
    "DUP_INVOICE_MULTI_FINANCED", "INVOICE_FINANCED_BEYOND_VALUE", "DUP_VOUCHER_MULTI_FINANCED",
    "DUP_BILL_RANGE_MULTI_FINANCED", "INVOICE_NOT_IN_TAX_DATA", "INVOICE_RED_FLUSHED", "INVOICE_STATUS_ABNORMAL",
    "LEDGER_NOT_HOLDER", "LEDGER_SPLIT_EXCEEDS", "LEDGER_FINANCE_AFTER_MATURITY", "LEDGER_ISSUE_WITHOUT_PAYABLE",
    "LEDGER_MOVE_AFTER_FINAL", "TRADE_NO_PAYABLE", "TRADE_NO_WAYBILL", "TRADE_WAYBILL_NOT_RECEIVED",
    "TRADE_WAYBILL_REJECTED", "TRADE_WAYBILL_QTY_MISMATCH", "TRADE_WAYBILL_OVERUSED", "TRADE_TIMELINE_BROKEN",
    "TRADE_PARTY_MISMATCH", "TRADE_INVALID_USCC", "TRADE_CIRCULAR", "TRADE_TOTALS_INCONSISTENT",
    "DUP_INVOICE_REISSUED", "BILL_EXCHANGE_CONFLICT", "RECEIVABLE_ALREADY_PAID", "FINANCING_BEFORE_INVOICE",
}
LOOKALIKE_KINDS = {
    "voucher_plus_bill_split", "red_letter_reverses_twin", "same_amount_different_parties", "partial_factoring",
    "two_partial_factorings", "disjoint_sub_ranges", "one_order_several_waybills", "payable_rounded_down",
    "line_tax_rounding", "split_children_each_financed_once", "reissue_after_full_red_flush",
    "other_range_discounted_elsewhere", "cleared_after_value_date", "valued_on_issue_day",
}


# ---- reading a delivery -------------------------------------------------------------------
@dataclass
class Inv:
    """An invoice as delivered."""

    no: str
    night: int
    label: str
    red_of: str
    seller: str
    buyer: str
    amount: int
    tax: int
    total: int
    day: dt.date
    remark: str
    lines: list[tuple[int, int, Decimal, Decimal]]  # amount, tax, rate, quantity

    @property
    def order(self) -> str:
        m = ORDER.search(self.remark)
        return m.group(1) if m else ""

    @property
    def quantity(self) -> Decimal:
        return sum((ln[3] for ln in self.lines), Decimal(0))


@dataclass
class Wb:
    """A waybill as delivered."""

    no: str
    night: int
    folder: str
    order: str
    carrier: str
    consignor: str
    consignee: str
    consigned: dt.datetime
    despatched: dt.datetime
    received: dt.datetime | None
    status: str
    quantity: Decimal


def _t(el: etree._Element, path: str) -> str:
    found = el.find(path)
    return (found.text or "") if found is not None else ""


def _invoice(el: etree._Element, night: int) -> Inv:
    b = "EInvoiceData/BasicInformation/"
    time = parse_invoice_time(_t(el, b + "RequestTime"))
    assert time is not None
    lines = []
    for ln in el.iterfind("EInvoiceData/IssuItemInformation"):
        lines.append((parse_fen(_t(ln, "Amount")), parse_fen(_t(ln, "ComTaxAm")), parse_tax_rate(_t(ln, "TaxRate")),
                      parse_decimal(_t(ln, "Quantity"))))
    return Inv(
        no=_t(el, "Header/EIid"), night=night, label=_t(el, "Header/InherentLabel/InIssuType/LabelCode"),
        red_of=_t(el, "EInvoiceData/SpecificInformation/RedEInvoice/OriginalInvoiceCode"),
        seller=_t(el, "EInvoiceData/SellerInformation/SellerIdNum"),
        buyer=_t(el, "EInvoiceData/BuyerInformation/BuyerIdNum"),
        amount=parse_fen(_t(el, b + "TotalAmWithoutTax")), tax=parse_fen(_t(el, b + "TotalTaxAm")),
        total=parse_fen(_t(el, b + "TotalTax-includedAmount")), day=time.date(),
        remark=_t(el, "EInvoiceData/AdditionalInformation/Remark"), lines=lines,  # type: ignore[arg-type]
    )


def _csv(raw: bytes) -> tuple[str, str, list[dict[str, str]]]:
    """(encoding kind, delimiter, rows) of an ERP/platform CSV, detected as INPUTS.md says."""
    if raw.startswith(b"\xef\xbb\xbf"):
        kind, text = "bom", raw[3:].decode("utf-8")
    else:
        try:
            kind, text = "utf-8", raw.decode("utf-8")
        except UnicodeDecodeError:
            kind, text = "gb18030", raw.decode("gb18030")
    header = text.split("\n", 1)[0]
    delim = "|" if "|" in header else ","
    return kind, delim, list(csv.DictReader(io.StringIO(text), delimiter=delim))


class Delivery:
    """Everything a simulation wrote, parsed."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.dates = sorted(p.name for p in (out / "inbox").iterdir())
        self.invoices: dict[str, Inv] = {}
        self.xml_roots: dict[str, set[str]] = defaultdict(set)
        self.waybills: list[Wb] = []
        self.status: list[tuple[int, dict[str, str]]] = []
        self.erp: list[tuple[int, str, str, str, str, list[dict[str, str]]]] = []  # night, core, file, kind, delim
        self.events: list[tuple[int, dict[str, str]]] = []
        self.financings: dict[str, tuple[int, dict[str, str]]] = {}
        self.bills: list[tuple[int, etree._Element]] = []
        for night, date in enumerate(self.dates):
            self._night(night, out / "inbox" / date)
        with open(out / "labels.csv", encoding="utf-8", newline="") as f:
            self.labels = list(csv.DictReader(f))
        self.world = json.loads((out / "world.json").read_text(encoding="utf-8"))
        self.cores = {c["uscc"] for c in self.world["companies"] if c["tier"] == 0}

    def _night(self, night: int, d: Path) -> None:
        for path in sorted((d / "tax").glob("*.xml")):
            root = etree.parse(str(path)).getroot()
            self.xml_roots["tax"].add(root.tag)
            for el in ([root] if root.tag == "EInvoice" else list(root)):
                inv = _invoice(el, night)
                assert inv.no not in self.invoices, f"invoice {inv.no} delivered twice"
                self.invoices[inv.no] = inv
        _k, _d, rows = _csv((d / "tax" / "invoice_status.csv").read_bytes())
        self.status.extend((night, r) for r in rows)
        for path in sorted((d / "logistics").glob("*/*.xml")):
            root = etree.parse(str(path)).getroot()
            self.xml_roots["logistics"].add(root.tag)
            for body in root.iterfind("Body"):
                self.waybills.append(Wb(
                    no=_t(body, "ShippingNoteNumber"), night=night, folder=path.parent.name,
                    order=_t(body, "OriginalDocumentNumber"), carrier=_t(body, "UnifiedSocialCreditIdentifier"),
                    consignor=_t(body, "ConsignorInfo/ConsignorID"), consignee=_t(body, "ConsigneeInfo/ConsigneeID"),
                    consigned=parse_compact_datetime(_t(body, "ConsignmentDateTime")),  # type: ignore[arg-type]
                    despatched=parse_compact_datetime(_t(body, "DespatchActualDateTime")),  # type: ignore[arg-type]
                    received=parse_compact_datetime(_t(body, "GoodsReceiptDateTime")),
                    status=_t(body, "Status"),
                    quantity=parse_decimal(_t(body, "GoodsInfo/Quantity")),  # type: ignore[arg-type]
                ))
        for path in sorted((d / "bills").glob("*.xml")):
            root = etree.parse(str(path)).getroot()
            self.xml_roots["bills"].add(root.tag)
            self.bills.extend((night, cd) for cd in root.iterfind("CdInf"))
        for path in sorted((d / "erp").glob("*/*.csv")):
            kind, delim, rows = _csv(path.read_bytes())
            self.erp.append((night, path.parent.name, path.name, kind, delim, rows))
        _k, _d, rows = _csv((d / "platform" / "voucher_events.csv").read_bytes())
        self.events.extend((night, r) for r in rows)
        _k, _d, rows = _csv((d / "platform" / "financings.csv").read_bytes())
        for r in rows:
            fid = r["financing_id"]
            if fid in self.financings:  # a restatement: only the status may change
                first, old = self.financings[fid]
                assert first < night and {**old, "status": r["status"]} == r, r
                self.financings[fid] = (first, r)
            else:
                self.financings[fid] = (night, r)

    def erp_rows(self, name: str, upto: int) -> list[tuple[str, dict[str, str]]]:
        """(core, row) of one ERP file kind over nights <= upto."""
        return [(core, r) for n, core, f, _k, _d, rows in self.erp if f == name and n <= upto for r in rows]

    def night_of(self, date: str) -> int:
        return self.dates.index(date)


# ---- the oracle -------------------------------------------------------------------------------
Flags = dict[str, set[str]]


class Oracle:
    """The check catalogue, read plainly off the delivered files (nights <= ``upto``)."""

    def __init__(self, d: Delivery) -> None:
        self.d = d

    def flags(self, upto: int) -> tuple[Flags, Flags]:
        """(checks per financing_id, checks per voucher_id) as of night ``upto``."""
        d = self.d
        fin: Flags = defaultdict(set)
        vch: Flags = defaultdict(set)
        invoices = {no: i for no, i in d.invoices.items() if i.night <= upto}
        financings = {fid: r for fid, (n, r) in d.financings.items() if n <= upto}
        waybills = defaultdict(list)
        for w in d.waybills:
            if w.night <= upto:
                waybills[w.order].append(w)
        status: dict[str, dict[str, str]] = {}
        for n, r in d.status:
            if n <= upto:
                status[r["fphm"]] = r
        red_sum: dict[str, int] = defaultdict(int)
        for i in invoices.values():
            if i.red_of:
                red_sum[i.red_of] += -i.total
        flushed = {no: max(red_sum.get(no, 0), parse_fen(r["hcje"]) if r["fpzt"] == "3" else 0)
                   for no, r in status.items()}
        for no, amount in red_sum.items():
            flushed[no] = max(flushed.get(no, 0), amount)
        ap_cited = set()
        ap_refs = set()
        for _core, r in d.erp_rows("ap_open_items.csv", upto):
            ap_cited.update(INVOICE_NO.findall(r["SGTXT"]))
            ap_refs.add(f"{r['BUKRS']}-{r['GJAHR']}-{r['BELNR']}-{r['BUZEI']}")
        po_date = {r["EBELN"]: parse_yyyymmdd(r["BEDAT"]) for _c, r in d.erp_rows("po_items.csv", upto)}

        refs = {fid: parse_invoice_refs(r["invoice_nos"]) for fid, r in financings.items()}
        presented: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for fid, lst in refs.items():
            for no, amount in lst:
                presented[no].append((fid, amount))

        # duplicates and invoice status
        for no, uses in presented.items():
            inv = invoices.get(no)
            fids = {fid for fid, _ in uses}
            if inv is None:
                for fid in fids:
                    fin[fid].add("INVOICE_NOT_IN_TAX_DATA")
                continue
            total_used = sum(a for _f, a in uses)
            for fid, amount in uses:
                if amount > inv.total:
                    fin[fid].add("INVOICE_FINANCED_BEYOND_VALUE")
            if len(fids) > 1 and total_used > inv.total:
                for fid in fids:
                    fin[fid].add("DUP_INVOICE_MULTI_FINANCED")
            if flushed.get(no, 0) > 0 and inv.total - flushed[no] < total_used:
                for fid in fids:
                    fin[fid].add("INVOICE_RED_FLUSHED")
            if no in status and status[no]["fpzt"] in ("1", "2", "4"):
                for fid in fids:
                    fin[fid].add("INVOICE_STATUS_ABNORMAL")
        by_voucher: dict[str, list[str]] = defaultdict(list)
        by_bill: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        for fid, r in financings.items():
            if r["product"] == "VOUCHER":
                by_voucher[r["asset_ref"]].append(fid)
            elif r["product"] == "BILL":
                cd, rng = r["asset_ref"].split(":")
                start, end = (int(x) for x in rng.split("-"))
                by_bill[cd].append((fid, start, end))
        for fids in by_voucher.values():
            if len(fids) > 1:
                for fid in fids:
                    fin[fid].add("DUP_VOUCHER_MULTI_FINANCED")
        for ranges in by_bill.values():
            for a in range(len(ranges)):
                for b in range(a + 1, len(ranges)):
                    (fa, sa, ea), (fb, sb, eb) = ranges[a], ranges[b]
                    if sa <= eb and sb <= ea:
                        fin[fa].add("DUP_BILL_RANGE_MULTI_FINANCED")
                        fin[fb].add("DUP_BILL_RANGE_MULTI_FINANCED")

        self._exchange_and_payments(upto, financings, fin, vch)

        # the voucher ledger, replayed
        expected_buyer = self._ledger(upto, ap_refs, fin, vch)
        bill_buyer = self._bill_buyers(upto)

        # trade background of every presented invoice
        financed_invoices = [no for no in presented if no in invoices]
        per_order: dict[str, list[Inv]] = defaultdict(list)
        for inv in invoices.values():
            if inv.total > 0 and inv.order and flushed.get(inv.no, 0) < inv.total:
                per_order[inv.order].append(inv)
        for fid, r in financings.items():
            value = parse_iso_date(r["value_date"])
            assert value is not None
            for no, _amount in refs[fid]:
                inv = invoices.get(no)
                if inv is None:
                    continue
                checks = fin[fid]
                if inv.total != inv.amount + inv.tax or inv.amount != sum(x[0] for x in inv.lines) \
                        or inv.tax != sum(x[1] for x in inv.lines) \
                        or any(abs(a * rate - t) > 6 for a, t, rate, _q in inv.lines):
                    checks.add("TRADE_TOTALS_INCONSISTENT")
                if not (uscc.is_valid(inv.seller) and uscc.is_valid(inv.buyer)):
                    checks.add("TRADE_INVALID_USCC")
                if r["product"] == "VOUCHER":
                    buyer = expected_buyer.get(fid)
                elif r["product"] == "BILL":
                    buyer = bill_buyer.get(r["asset_ref"])
                else:
                    buyer = r["debtor_uscc"]
                if inv.seller != r["applicant_uscc"] or (buyer is not None and inv.buyer != buyer):
                    checks.add("TRADE_PARTY_MISMATCH")
                if inv.buyer in d.cores and no not in ap_cited:
                    checks.add("TRADE_NO_PAYABLE")
                if inv.day > value or (inv.order in po_date and po_date[inv.order] > inv.day):
                    checks.add("TRADE_TIMELINE_BROKEN")
                if inv.day > value:
                    checks.add("FINANCING_BEFORE_INVOICE")
                ws = waybills.get(inv.order, [])
                if not ws:
                    checks.add("TRADE_NO_WAYBILL")
                    continue
                if any(w.status in ("1", "2") for w in ws):
                    checks.add("TRADE_WAYBILL_NOT_RECEIVED")
                if any(w.status == "4" for w in ws):
                    checks.add("TRADE_WAYBILL_REJECTED")
                if any(w.received is not None and w.received.date() > value for w in ws):
                    checks.add("TRADE_TIMELINE_BROKEN")
                carried = sum((w.quantity for w in ws), Decimal(0))
                if abs(carried - inv.quantity) > inv.quantity / 10:
                    checks.add("TRADE_WAYBILL_QTY_MISMATCH")
                siblings = per_order[inv.order]
                if len(siblings) > 1 and sum((s.quantity for s in siblings), Decimal(0)) > carried * Decimal("1.1"):
                    checks.add("TRADE_WAYBILL_OVERUSED")
        # re-issued duplicates and circles among financed invoices
        keys: dict[tuple[str, str, int, dt.date], list[str]] = defaultdict(list)
        edges: dict[str, list[Inv]] = defaultdict(list)
        for no in financed_invoices:
            inv = invoices[no]
            if flushed.get(no, 0) < inv.total:
                keys[(inv.seller, inv.buyer, inv.total, inv.day)].append(no)
            edges[inv.seller].append(inv)
        for nos in keys.values():
            if len(nos) > 1:
                for no in nos:
                    for fid, _a in presented[no]:
                        fin[fid].add("DUP_INVOICE_REISSUED")
        for ab in financed_invoices:
            a = invoices[ab]
            for bc in edges.get(a.buyer, []):
                for ca in edges.get(bc.buyer, []):
                    days = [a.day, bc.day, ca.day]
                    if ca.buyer == a.seller and len({a.seller, a.buyer, bc.buyer}) == 3 \
                            and (max(days) - min(days)).days <= 7:
                        for inv in (a, bc, ca):
                            for fid, _amt in presented[inv.no]:
                                fin[fid].add("TRADE_CIRCULAR")
        return fin, vch

    def _ledger(self, upto: int, ap_refs: set[str], fin: Flags, vch: Flags) -> dict[str, str]:
        """Replay voucher events; returns who should be the buyer on each VOUCHER financing's invoices."""
        state: dict[str, dict[str, object]] = {}
        buyer_of: dict[str, str] = {}
        for n, e in self.d.events:
            if n > upto:
                break
            kind, vid = e["event_type"], e["voucher_id"]
            amount = parse_fen(e["amount"])
            day = parse_offset_datetime(e["event_time"]).date()  # type: ignore[union-attr]
            reject = ""
            if kind == "ISSUE":
                v = state[vid] = {"holder": e["to_uscc"], "amount": amount, "status": "open", "taint": set(),
                                  "giver": e["issuer_uscc"], "maturity": parse_iso_date(e["maturity_date"])}
                if e["ap_ref"] not in ap_refs:
                    reject = "LEDGER_ISSUE_WITHOUT_PAYABLE"
            elif kind == "SPLIT":
                p = state[e["parent_voucher_id"]]
                v = state[vid] = {"holder": e["to_uscc"], "amount": amount, "status": "open",
                                  "taint": set(p["taint"]), "giver": p["giver"], "maturity": p["maturity"]}
                if p["status"] != "open":
                    reject = "LEDGER_MOVE_AFTER_FINAL"
                elif e["from_uscc"] != p["holder"]:
                    reject = "LEDGER_NOT_HOLDER"
                elif amount > p["amount"]:  # type: ignore[operator]
                    reject = "LEDGER_SPLIT_EXCEEDS"
                else:
                    p["amount"] -= amount  # type: ignore[operator]
            else:
                v = state[vid]
                if v["status"] != "open":
                    reject = "LEDGER_MOVE_AFTER_FINAL"
                elif e["from_uscc"] != v["holder"]:
                    reject = "LEDGER_NOT_HOLDER"
                elif kind == "FINANCE" and day >= v["maturity"]:  # type: ignore[operator]
                    reject = "LEDGER_FINANCE_AFTER_MATURITY"
                elif kind == "TRANSFER":
                    v["holder"], v["giver"] = e["to_uscc"], e["from_uscc"]
                else:
                    v["status"] = kind.lower()
            if reject:
                v["taint"].add(reject)  # type: ignore[attr-defined]
                vch[vid].add(reject)
            if kind == "FINANCE":
                buyer_of[e["financing_id"]] = str(v["giver"])
                fin[e["financing_id"]].update(v["taint"])  # type: ignore[arg-type]
        return buyer_of

    def _exchange_and_payments(self, upto: int, financings: dict[str, dict[str, str]], fin: Flags,
                               vch: Flags) -> None:
        """The bill exchange's record against bill financings, and payables paid by the value date."""
        cleared: dict[str, dt.date] = {}
        invoice_cleared: dict[str, dt.date] = {}
        for _core, r in self.d.erp_rows("ap_open_items.csv", upto):
            day = parse_yyyymmdd(r["AUGDT"]) if r["AUGDT"] else None
            if day is not None:
                cleared[f"{r['BUKRS']}-{r['GJAHR']}-{r['BELNR']}-{r['BUZEI']}"] = day
                for no in INVOICE_NO.findall(r["SGTXT"]):
                    invoice_cleared[no] = day
        parent: dict[str, str] = {}
        issued_on: dict[str, str] = {}
        for n, e in self.d.events:
            if n > upto:
                break
            if e["event_type"] == "SPLIT":
                parent[e["voucher_id"]] = e["parent_voucher_id"]
            elif e["event_type"] == "ISSUE":
                issued_on[e["voucher_id"]] = e["ap_ref"]
                issue_day = parse_offset_datetime(e["event_time"]).date()  # type: ignore[union-attr]
                if e["ap_ref"] in cleared and cleared[e["ap_ref"]] <= issue_day:
                    vch[e["voucher_id"]].add("RECEIVABLE_ALREADY_PAID")
        records: dict[str, etree._Element] = {}
        for n, cd in self.d.bills:
            if n <= upto:
                records[f"{_t(cd, 'CdNo')}:{_t(cd, 'CdRange')}"] = cd
        for fid, r in financings.items():
            value = parse_iso_date(r["value_date"])
            assert value is not None
            if r["product"] == "VOUCHER":
                root = r["asset_ref"]
                while root in parent:
                    root = parent[root]
                paid = cleared.get(issued_on.get(root, ""))
                if paid is not None and paid <= value:
                    fin[fid].add("RECEIVABLE_ALREADY_PAID")
            elif r["product"] == "INVOICE":
                paid = invoice_cleared.get(r["asset_ref"])
                if paid is not None and paid <= value:
                    fin[fid].add("RECEIVABLE_ALREADY_PAID")
            else:
                cd_no, rng = r["asset_ref"].split(":")
                start, end = (int(x) for x in rng.split("-"))
                for key, cd in records.items():
                    rs, re_ = (int(x) for x in key.split(":")[1].split("-"))
                    if key.split(":")[0] != cd_no or rs > end or start > re_:
                        continue
                    bank = _t(cd, "Dscnt/DscntBk")
                    if (bank and bank != r["bank_code"]) or cd.find("Collztn") is not None \
                            or _t(cd, "CircSts") in ("TF0302", "TF0304", "TF0402", "TF0501") \
                            or _t(cd, "CdSts") in ("CS05", "CS06"):
                        fin[fid].add("BILL_EXCHANGE_CONFLICT")

    def _bill_buyers(self, upto: int) -> dict[str, str]:
        """Expected invoice buyer per bill range: the last endorser, else the drawer."""
        out = {}
        for n, cd in self.d.bills:
            if n > upto:
                continue
            ends = cd.findall("Endrsmt")
            buyer = _t(ends[-1], "Endrsr/CmonId") if ends else _t(cd, "Drwr/CmonId")
            out[f"{_t(cd, 'CdNo')}:{_t(cd, 'CdRange')}"] = buyer
        return out


# ---- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Delivery:
    out = tmp_path_factory.mktemp("sim")
    simulate(out, seed=11, nights=NIGHTS, trades_per_night=800, tuning=SMALL)
    return Delivery(out)


@pytest.fixture(scope="module")
def verdicts(delivery: Delivery) -> list[tuple[Flags, Flags]]:
    oracle = Oracle(delivery)
    return [oracle.flags(n) for n in range(len(delivery.dates))]


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


# ---- determinism and layout ----------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    simulate(a, seed=5, nights=2, trades_per_night=150, tuning=SMALL)
    simulate(b, seed=5, nights=2, trades_per_night=150, tuning=SMALL)
    simulate(c, seed=6, nights=2, trades_per_night=150, tuning=SMALL)
    assert _tree_digest(a) == _tree_digest(b)
    assert _tree_digest(a) != _tree_digest(c)
    simulate(a, seed=5, nights=2, trades_per_night=150, tuning=SMALL)  # re-run into a used folder
    assert _tree_digest(a) == _tree_digest(b)


def test_output_does_not_depend_on_string_hashing(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from simulator import simulate, Tuning; "
            "simulate(Path(sys.argv[1]), seed=5, nights=2, trades_per_night=150, "
            "tuning=Tuning(tax_batch_size=80, waybill_batch_size=30, bill_batch_size=10, per_kind=2))")
    digests = set()
    for hash_seed in ("0", "4242"):
        out = tmp_path / hash_seed
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, env=env, cwd=REPO)
        digests.add(_tree_digest(out))
    simulate(tmp_path / "here", seed=5, nights=2, trades_per_night=150, tuning=SMALL)
    digests.add(_tree_digest(tmp_path / "here"))
    assert len(digests) == 1


def test_every_file_kind_of_inputs_md_is_delivered(delivery: Delivery) -> None:
    out = delivery.out / "inbox"
    for date in delivery.dates:
        night = out / date
        for rel in ("tax/invoice_status.csv", "platform/voucher_events.csv", "platform/financings.csv"):
            assert (night / rel).is_file(), rel
        cores = sorted(p.name for p in (night / "erp").iterdir())
        assert len(cores) == 3
        for core in cores:
            for name in ("vendors.csv", "po_items.csv", "goods_receipts.csv", "ap_open_items.csv"):
                assert (night / "erp" / core / name).is_file()
        assert list((night / "tax").glob("batch_*.xml"))
        assert list((night / "logistics").glob("*/waybills_*.xml"))
    assert any(out.glob("*/bills/bills_*.xml"))
    assert any(p.name[:-4].isdigit() for p in out.glob("*/tax/*.xml")), "no one-invoice file"
    assert any(not p.name.startswith("waybills_") for p in out.glob("*/logistics/*/*.xml")), "no single waybill"
    assert len(list(out.glob("*/tax/batch_*.xml"))) > len(delivery.dates), "batches never rolled over"
    assert (delivery.out / "labels.csv").is_file() and (delivery.out / "world.json").is_file()


def test_xml_is_well_formed_with_the_right_roots(delivery: Delivery) -> None:
    assert delivery.xml_roots["tax"] == {"EInvoice", "EInvoiceBatch"}
    assert delivery.xml_roots["logistics"] == {"Root"}
    assert delivery.xml_roots["bills"] == {"CdInfList"}
    for path in (delivery.out / "inbox").rglob("*.xml"):
        assert path.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_erp_exports_vary_like_real_saps(delivery: Delivery) -> None:
    kinds = {(kind, delim) for _n, _c, _f, kind, delim, _rows in delivery.erp}
    assert any(k == "gb18030" for k, _ in kinds)
    assert any(k == "bom" for k, _ in kinds)
    assert any(dl == "|" for _, dl in kinds) and any(dl == "," for _, dl in kinds)
    ap = [r for _c, r in delivery.erp_rows("ap_open_items.csv", NIGHTS)]
    assert any(r["WRBTR"].endswith("-") and r["BLART"] == "KG" for r in ap)
    assert any(r["AUGDT"] for r in ap), "no settled payable"
    gr = [r for _c, r in delivery.erp_rows("goods_receipts.csv", NIGHTS)]
    assert any(r["BWART"] == "102" and r["MENGE"].endswith("-") for r in gr)
    for _n, core, _name, _k, _d, rows in delivery.erp:
        assert uscc.is_valid(core)
        for r in rows:  # every value parses with the engine's own scalar rules
            for col in ("WRBTR", "NETPR", "NETWR"):
                if col in r:
                    parse_fen(r[col])
            for col in ("BEDAT", "BUDAT", "BLDAT", "ZFBDT", "AUGDT"):
                if col in r:
                    parse_yyyymmdd(r[col])


def test_tax_rates_written_both_ways_and_red_letters_marked(delivery: Delivery) -> None:
    raw = b"".join(p.read_bytes() for p in (delivery.out / "inbox").glob("*/tax/*.xml"))
    assert b"<TaxRate>0.13</TaxRate>" in raw and b"<TaxRate>13%</TaxRate>" in raw
    assert b"<TaxRate>0.09</TaxRate>" in raw or b"<TaxRate>9%</TaxRate>" in raw
    assert b"<TaxRate>0.06</TaxRate>" in raw or b"<TaxRate>6%</TaxRate>" in raw
    reds = [i for i in delivery.invoices.values() if i.red_of]
    assert reds
    status3 = {r["fphm"] for _n, r in delivery.status if r["fpzt"] == "3"}
    for red in reds:
        assert red.label == f"N{red.red_of}" and red.total < 0
        assert red.red_of in delivery.invoices and red.red_of in status3


def _anomalous_invoices(delivery: Delivery) -> set[str]:
    return {lb["invoice_no"] for lb in delivery.labels if lb["label"] == "anomaly" and lb["invoice_no"]}


def test_clean_documents_carry_valid_usccs(delivery: Delivery) -> None:
    bad = _anomalous_invoices(delivery)
    for inv in delivery.invoices.values():
        if inv.no not in bad and inv.red_of not in bad:
            assert uscc.is_valid(inv.seller) and uscc.is_valid(inv.buyer), inv.no
    shells = {i.seller for i in delivery.invoices.values() if not uscc.is_valid(i.seller)}
    for w in delivery.waybills:
        assert uscc.is_valid(w.carrier) and w.carrier == w.folder
        assert uscc.is_valid(w.consignee) and (uscc.is_valid(w.consignor) or w.consignor in shells)
    for _n, e in delivery.events:
        for col in ("issuer_uscc", "from_uscc", "to_uscc"):
            assert uscc.is_valid(e[col]) or re.fullmatch(r"\d{12}", e[col]), e
    labelled = {lb["financing_id"] for lb in delivery.labels}
    for fid, (_n, r) in delivery.financings.items():
        assert re.fullmatch(r"\d{12}", r["bank_code"])
        assert uscc.is_valid(r["applicant_uscc"]) or fid in labelled
    world_bad = [c for c in delivery.world["companies"] if not uscc.is_valid(c["uscc"])]
    assert world_bad and all(not c["uscc_valid"] for c in world_bad)


def test_clean_invoices_add_up(delivery: Delivery) -> None:
    bad = _anomalous_invoices(delivery)
    for inv in delivery.invoices.values():
        if inv.no in bad:
            continue
        assert len(inv.no) == 20 and inv.no.isdigit()
        assert inv.total == inv.amount + inv.tax, inv.no
        assert inv.amount == sum(x[0] for x in inv.lines) and inv.tax == sum(x[1] for x in inv.lines)
        for amount, tax, rate, _q in inv.lines:
            assert abs(amount * rate - tax) <= 6
            assert rate in (Decimal("0.13"), Decimal("0.09"), Decimal("0.06"))


def test_waybill_times_are_ordered(delivery: Delivery) -> None:
    for w in delivery.waybills:
        assert w.consigned <= w.despatched
        if w.status == "3":
            assert w.received is not None and w.despatched <= w.received
        else:
            assert w.received is None


def test_platform_rows_are_consistent(delivery: Delivery) -> None:
    events = [e for _n, e in delivery.events]
    assert len({e["event_id"] for e in events}) == len(events)
    per_night: dict[int, list[dt.datetime]] = defaultdict(list)
    for n, e in delivery.events:
        per_night[n].append(parse_offset_datetime(e["event_time"]))  # type: ignore[arg-type]
    assert all(ts == sorted(ts) for ts in per_night.values())
    assert {e["event_type"] for e in events} == {"ISSUE", "SPLIT", "TRANSFER", "FINANCE", "SETTLE", "CANCEL"}
    for e in events:
        assert re.fullmatch(r"V[0-9a-f]{16}", e["voucher_id"])
        assert sum(a for _no, a in parse_invoice_refs(e["invoice_nos"])) in (0, parse_fen(e["amount"]))
    finance_events = {e["financing_id"]: n for n, e in delivery.events if e["event_type"] == "FINANCE"}
    products = {r["product"] for _n, r in delivery.financings.values()}
    assert products == {"VOUCHER", "BILL", "INVOICE"}
    assert {r["status"] for _n, r in delivery.financings.values()} == {"ACTIVE", "REPAID", "DEFAULTED", "CANCELLED"}
    arrived = {no: i.night for no, i in delivery.invoices.items()}
    assert any(arrived.get(no, n) < n for n, r in delivery.financings.values()
               for no, _a in parse_invoice_refs(r["invoice_nos"])), "no invoice financed nights after it arrived"
    late = 0
    for fid, (n, r) in delivery.financings.items():
        refs = parse_invoice_refs(r["invoice_nos"])
        assert sum(a for _no, a in refs) == parse_fen(r["face_amount"])
        assert 0 < parse_fen(r["financed_amount"]) <= parse_fen(r["face_amount"])
        if r["product"] == "VOUCHER" and fid in finance_events:
            assert finance_events[fid] <= n
            late += finance_events[fid] < n
    assert late, "no FINANCE event whose financing row came a night later"
    bills = defaultdict(list)
    for _n, cd in delivery.bills:
        cd_no = _t(cd, "CdNo")
        assert len(cd_no) == 30 and cd_no[0] in "78"
        start, end = (int(x) for x in _t(cd, "CdRange").split("-"))
        assert parse_fen(_t(cd, "CdAmt")) == end - start + 1
        bills[cd_no].append((start, end))
    for ranges in bills.values():
        ranges.sort()
        assert all(a[1] < b[0] for a, b in pairwise(ranges)), "overlapping bill records"


def test_split_children_never_exceed_their_parent(delivery: Delivery) -> None:
    planted = {lb["voucher_id"] for lb in delivery.labels if lb["check_id"] == "LEDGER_SPLIT_EXCEEDS"}
    remaining: dict[str, int] = {}
    depth: dict[str, int] = {}
    for _n, e in delivery.events:
        amount = parse_fen(e["amount"])
        if e["event_type"] == "ISSUE":
            remaining[e["voucher_id"]] = amount
            depth[e["voucher_id"]] = 1
        elif e["event_type"] == "SPLIT":
            parent = e["parent_voucher_id"]
            if e["voucher_id"] not in planted:
                assert amount <= remaining[parent]
            remaining[parent] -= amount
            remaining[e["voucher_id"]] = amount
            depth[e["voucher_id"]] = depth[parent]
    tiers = {c["uscc"]: c["tier"] for c in delivery.world["companies"]}
    deepest = max(tiers.get(e["to_uscc"], 0) for _n, e in delivery.events if e["event_type"] == "TRANSFER")
    assert deepest == 5, "no voucher passed down to tier 5"


def test_labels_cover_every_kind(delivery: Delivery) -> None:
    anomalies = {lb["check_id"] for lb in delivery.labels if lb["label"] == "anomaly"}
    assert anomalies == ANOMALY_KINDS
    kinds = {lb["note"].split(";")[0].removeprefix("kind=") for lb in delivery.labels if lb["label"] == "lookalike"}
    assert kinds == LOOKALIKE_KINDS
    for lb in delivery.labels:
        assert lb["business_date"] in delivery.dates
        assert lb["financing_id"] in delivery.financings or (not lb["financing_id"] and lb["voucher_id"])


def test_world_describes_every_party(delivery: Delivery) -> None:
    companies = delivery.world["companies"]
    by_uscc = {c["uscc"]: c for c in companies}
    assert len(by_uscc) == len(companies)
    cores = [c for c in companies if c["tier"] == 0]
    assert len(cores) == 3 and {c["industry"] for c in cores} == {"电子", "化工", "汽车零部件"}
    assert {c["tier"] for c in companies} == {0, 1, 2, 3, 4, 5}
    for c in companies:
        assert c["industry"] and c["region"] and re.fullmatch(r"\d{2}0000", c["region_code"])
        assert c["core_uscc"] in by_uscc
    parties = {i.seller for i in delivery.invoices.values()} | {i.buyer for i in delivery.invoices.values()}
    assert parties <= set(by_uscc)
    assert {r["bank_code"] for _n, r in delivery.financings.values()} <= {b["cnaps"] for b in delivery.world["banks"]}
    assert {w.carrier for w in delivery.waybills} <= {k["uscc"] for k in delivery.world["carriers"]}


# ---- planted truth, checked by the oracle ---------------------------------------------------------
def test_unlabelled_financings_pass_every_check_every_night(delivery: Delivery,
                                                            verdicts: list[tuple[Flags, Flags]]) -> None:
    labelled = {lb["financing_id"] for lb in delivery.labels if lb["financing_id"]}
    for night, (fin, _vch) in enumerate(verdicts):
        wrong = {fid: checks for fid, checks in fin.items() if checks and fid not in labelled}
        assert not wrong, f"night {night}: clean financings flagged: {sorted(wrong.items())[:5]}"
    assert len(delivery.financings) > 2 * len(labelled)


def test_anomalies_are_caught_from_their_business_date(delivery: Delivery,
                                                       verdicts: list[tuple[Flags, Flags]]) -> None:
    for lb in delivery.labels:
        if lb["label"] != "anomaly":
            continue
        night = delivery.night_of(lb["business_date"])
        fin, vch = verdicts[night]
        if lb["financing_id"]:
            assert lb["check_id"] in fin.get(lb["financing_id"], set()), lb
            if night:
                assert lb["check_id"] not in verdicts[night - 1][0].get(lb["financing_id"], set()), lb
        else:
            assert lb["check_id"] in vch.get(lb["voucher_id"], set()), lb


def test_lookalikes_pass_every_check(delivery: Delivery, verdicts: list[tuple[Flags, Flags]]) -> None:
    fin, _vch = verdicts[-1]
    for lb in delivery.labels:
        if lb["label"] == "lookalike":
            assert not fin.get(lb["financing_id"]), (lb, fin.get(lb["financing_id"]))


def test_without_anomalies_everything_is_clean(tmp_path: Path) -> None:
    simulate(tmp_path, seed=3, nights=2, trades_per_night=250, anomalies=False, tuning=SMALL)
    d = Delivery(tmp_path)
    assert {lb["label"] for lb in d.labels} == {"lookalike"}
    lookalikes = {lb["financing_id"] for lb in d.labels}
    oracle = Oracle(d)
    for night in range(len(d.dates)):
        fin, vch = oracle.flags(night)
        assert not {f: c for f, c in fin.items() if c}, night
        assert not {v: c for v, c in vch.items() if c}, night
    assert all(uscc.is_valid(i.seller) for i in d.invoices.values())
    assert lookalikes <= set(d.financings)


# ---- scale ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_large_generation_keeps_memory_bounded(tmp_path: Path) -> None:
    import time
    import tracemalloc

    tracemalloc.start()
    started = time.process_time()
    summary = simulate(tmp_path, seed=1, nights=2, trades_per_night=50_000)
    seconds = time.process_time() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert summary.invoices >= 100_000
    assert peak < 200 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    print(f"{summary.invoices} invoices in {seconds:.1f}s CPU (under tracemalloc), peak {peak / 2**20:.0f} MiB")
