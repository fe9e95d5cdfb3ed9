"""Streaming writers: one per file kind of INPUTS.md, all of a night held by
:class:`NightFiles`.  Records are written as they are produced; batch files roll over
every N records, so memory never depends on the volume."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from simulator import render
from simulator.documents import ApItem, BillRange, Financing, GoodsReceipt, Invoice, PoItem, Waybill
from simulator.money import fen_text as format_fen
from simulator.params import Tuning
from simulator.timefmt import DAY, HOUR, iso
from simulator.world import Carrier, Company, World

_BUFFER = 1 << 20


def _open(path: Path, encoding: str = "utf-8", buffering: int = _BUFFER) -> TextIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "w", encoding=encoding, newline="", buffering=buffering)


def _write_small(path: Path, text: str) -> None:
    """Write a one-record file in one go."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


class Counts:
    """How many records of each kind were written (insertion-ordered, deterministic).

    Writers bump ``by_kind[kind] += 1`` inline: it is on the hot path."""

    def __init__(self) -> None:
        self.by_kind: defaultdict[str, int] = defaultdict(int)

    def add(self, kind: str, n: int = 1) -> None:
        """Count ``n`` more records of ``kind``."""
        self.by_kind[kind] += n

    def get(self, kind: str) -> int:
        """Records of ``kind`` so far."""
        return self.by_kind.get(kind, 0)


_CHUNK = 256  # records gathered before one write call (encoding larger chunks is cheaper)


class CsvFile:
    """A CSV file with a header row, written row by row."""

    def __init__(self, path: Path, columns: Sequence[str], *, encoding: str = "utf-8",
                 delimiter: str = ",") -> None:
        self._f = _open(path, encoding)
        self._d = delimiter
        self._buf: list[str] = [delimiter.join(columns) + "\n"]

    def row(self, fields: Sequence[str]) -> None:
        """Append one row (fields never contain the delimiter or a newline)."""
        buf = self._buf
        buf.append(self._d.join(fields) + "\n")
        if len(buf) >= _CHUNK:
            self._f.write("".join(buf))
            buf.clear()

    def close(self) -> None:
        """Flush and close."""
        self._f.write("".join(self._buf))
        self._buf.clear()
        self._f.close()


class RollingXml:
    """Batch XML files ``<dir>/<stem>_NNNN.xml`` of at most ``limit`` records each."""

    def __init__(self, directory: Path, stem: str, limit: int, opening: Callable[[int], str],
                 closing: str) -> None:
        self._dir, self._stem, self._limit = directory, stem, limit
        self._opening, self._closing = opening, closing
        self._f: TextIO | None = None
        self._n = self._limit
        self._files = 0
        self._buf: list[str] = []

    def write(self, record: str) -> None:
        """Append one record, starting a new file when the current one is full."""
        if self._n >= self._limit:
            self._roll()
        buf = self._buf
        buf.append(record)
        self._n += 1
        if len(buf) >= _CHUNK:
            self._f.write("".join(buf))  # type: ignore[union-attr]
            buf.clear()

    def _roll(self) -> None:
        self._finish()
        self._files += 1
        self._f = _open(self._dir / f"{self._stem}_{self._files:04d}.xml")
        self._buf.append(self._opening(self._files))
        self._n = 0

    def _finish(self) -> None:
        if self._f is not None:
            self._buf.append(self._closing)
            self._f.write("".join(self._buf))
            self._buf.clear()
            self._f.close()
            self._f = None

    def close(self) -> None:
        """Close the open batch file, if any."""
        self._finish()


class _Singles:
    """Decides, within a per-night cap, which records go one per file."""

    def __init__(self, rng: random.Random, tuning: Tuning) -> None:
        self._rng, self._share, self._left = rng, tuning.single_file_share, tuning.max_single_files

    def take(self) -> bool:
        if self._left > 0 and self._rng.random() < self._share:
            self._left -= 1
            return True
        return False


class TaxFiles:
    """``tax/*.xml``: most invoices in ``batch_NNNN.xml``, some as ``<EIid>.xml``."""

    def __init__(self, night_dir: Path, tuning: Tuning, rng: random.Random, counts: Counts) -> None:
        self._dir = night_dir / "tax"
        self._batch = RollingXml(self._dir, "batch", tuning.tax_batch_size,
                                 lambda _n: f"{render.XML_DECL}<EInvoiceBatch>\n", "</EInvoiceBatch>\n")
        self._singles = _Singles(rng, tuning)
        self._counts = counts.by_kind

    def invoice(self, inv: Invoice) -> None:
        """Deliver one invoice."""
        self._counts["red_invoices" if inv.red_of else "invoices"] += 1
        if self._singles.take():
            _write_small(self._dir / f"{inv.no}.xml", render.invoice_file(inv))
        else:
            self._batch.write(render.invoice_in_batch(inv))

    def close(self) -> None:
        """Close the open batch."""
        self._batch.close()


class WaybillFiles:
    """``logistics/<carrier_uscc>/``: batches ``waybills_NNNN.xml`` and single waybills."""

    def __init__(self, night_dir: Path, day: int, carriers: list[Carrier], tuning: Tuning,
                 rng: random.Random, counts: Counts) -> None:
        self._rng, self._counts, self._day = rng, counts.by_kind, day
        self._dirs = {k.uscc: night_dir / "logistics" / k.uscc for k in carriers}
        self._batches = {k.uscc: self._rolling(k, tuning) for k in carriers}
        self._singles = {k.uscc: _Singles(rng, tuning) for k in carriers}

    def _rolling(self, carrier: Carrier, tuning: Tuning) -> RollingXml:
        def opening(n: int) -> str:
            sent = (self._day - 1) * DAY + 20 * HOUR + n * 60
            return render.waybill_header(carrier, f"{self._rng.getrandbits(128):032x}", sent)

        return RollingXml(self._dirs[carrier.uscc], "waybills", tuning.waybill_batch_size, opening, "</Root>\n")

    def waybill(self, w: Waybill) -> None:
        """Deliver one waybill."""
        self._counts["waybills"] += 1
        key = w.carrier.uscc
        if self._singles[key].take():
            sent = (w.received if w.received is not None else w.despatched) + 1800
            text = render.waybill_header(w.carrier, f"{self._rng.getrandbits(128):032x}", sent)
            _write_small(self._dirs[key] / f"{w.no}.xml", text + render.waybill_body(w) + "</Root>\n")
        else:
            self._batches[key].write(render.waybill_body(w))

    def close(self) -> None:
        """Close every carrier's open batch."""
        for batch in self._batches.values():
            batch.close()


@dataclass(frozen=True)
class ErpProfile:
    """How one core enterprise's SAP exports its files."""

    encoding: str  # utf-8, utf-8-sig (BOM) or gb18030
    delimiter: str
    ap_delimiter: str


ERP_PROFILES: tuple[ErpProfile, ...] = (
    ErpProfile("utf-8", ",", "|"),
    ErpProfile("gb18030", "|", "|"),
    ErpProfile("utf-8-sig", ",", ","),
)


class ErpFiles:
    """``erp/<core_uscc>/``: vendors, PO items, goods receipts, AP items of one core."""

    def __init__(self, night_dir: Path, core: Company, counts: Counts) -> None:
        p = ERP_PROFILES[core.core_no % len(ERP_PROFILES)]
        d = night_dir / "erp" / core.uscc
        enc = p.encoding
        self._counts = counts.by_kind
        self._vendors = CsvFile(d / "vendors.csv", render.VENDOR_COLUMNS, encoding=enc, delimiter=p.delimiter)
        self._po = CsvFile(d / "po_items.csv", render.PO_COLUMNS, encoding=enc, delimiter=p.delimiter)
        self._gr = CsvFile(d / "goods_receipts.csv", render.GR_COLUMNS, encoding=enc, delimiter=p.delimiter)
        self._ap = CsvFile(d / "ap_open_items.csv", render.AP_COLUMNS, encoding=enc, delimiter=p.ap_delimiter)

    def po_item(self, p: PoItem) -> None:
        """Deliver a PO line."""
        self._counts["po_items"] += 1
        self._po.row(render.po_row(p))

    def receipt(self, g: GoodsReceipt) -> None:
        """Deliver a goods movement."""
        self._counts["goods_receipts"] += 1
        self._gr.row(render.gr_row(g))

    def ap_item(self, a: ApItem) -> None:
        """Deliver a vendor open item."""
        self._counts["ap_items"] += 1
        self._ap.row(render.ap_row(a))

    def close(self, vendors: list[Company]) -> None:
        """Write the vendor master as it stands at the end of the night, close everything."""
        for v in vendors:
            self._vendors.row(render.vendor_row(v))
        for f in (self._vendors, self._po, self._gr, self._ap):
            f.close()


class NightFiles:
    """Every file of one night's delivery, open for streaming."""

    def __init__(self, night_dir: Path, day: int, world: World, tuning: Tuning, rng: random.Random,
                 counts: Counts) -> None:
        self.counts = counts
        self.tax = TaxFiles(night_dir, tuning, rng, counts)
        self.status = CsvFile(night_dir / "tax" / "invoice_status.csv", render.STATUS_COLUMNS)
        self.waybills = WaybillFiles(night_dir, day, world.carriers, tuning, rng, counts)
        self.bills = RollingXml(night_dir / "bills", "bills", tuning.bill_batch_size,
                                lambda _n: f"{render.XML_DECL}<CdInfList>\n", "</CdInfList>\n")
        self.events = CsvFile(night_dir / "platform" / "voucher_events.csv", render.EVENT_COLUMNS)
        self.financings = CsvFile(night_dir / "platform" / "financings.csv", render.FINANCING_COLUMNS)
        self._world = world
        self.erp = [ErpFiles(night_dir, core, counts) for core in world.cores]

    def bill(self, r: BillRange) -> None:
        """Deliver one bill range record."""
        self.counts.by_kind["bill_records"] += 1
        self.bills.write(render.bill_record(r))

    def financing(self, f: Financing) -> None:
        """Deliver one financings.csv row."""
        self.counts.by_kind["financings"] += 1
        fields = render.financing_row(f)
        self.financings.row(f.as_delivered(fields) if f.as_delivered is not None else fields)

    def status_change(self, invoice_no: str, status: str, red_fen: int, day: int) -> None:
        """Deliver one invoice_status.csv row."""
        self.counts.by_kind["status_rows"] += 1
        self.status.row((invoice_no, status, format_fen(red_fen), iso(day)))

    def close(self) -> None:
        """Close every file of the night."""
        self.tax.close()
        self.status.close()
        self.waybills.close()
        self.bills.close()
        self.events.close()
        self.financings.close()
        for core, e in zip(self._world.cores, self.erp, strict=True):
            e.close(self._world.vendors(core))
