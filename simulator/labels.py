"""``labels.csv``: the planted truth the engine is scored against.

Columns: ``label_id, business_date, label, check_id, financing_id, voucher_id,
invoice_no, bill_ref, waybill_no, note``.

* ``label=anomaly``: the check ``check_id`` must fire on ``financing_id`` no later than
  the night ``business_date`` (when ``financing_id`` is empty, on ``voucher_id``).
* ``label=lookalike``: ``financing_id`` looks like what ``check_id`` hunts for but is
  legitimate; it must not be ``blocked``.
* ``label=closed`` (``check_id`` empty): ``financing_id`` is no longer live from the night
  ``business_date`` (its row came again REPAID, DEFAULTED or CANCELLED): its verdict is
  ``closed`` from then on.

``note`` starts with ``kind=<slug>`` naming the planted scenario.
"""

from __future__ import annotations

import csv
from pathlib import Path

from simulator.documents import Financing
from simulator.render import LABEL_COLUMNS
from simulator.timefmt import iso


class LabelWriter:
    """Appends label rows as scenarios are planted."""

    def __init__(self, path: Path, night_days: list[int]) -> None:
        self._f = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed by close())
        self._w = csv.writer(self._f, lineterminator="\n")
        self._w.writerow(LABEL_COLUMNS)
        self._n = 0
        self._days = night_days
        self.counts: dict[str, int] = {}

    def add(self, label: str, night: int, check_id: str, kind: str, *, financing: Financing | None = None,
            voucher_id: str = "", invoice_no: str = "", bill_ref: str = "", waybill_no: str = "",
            note: str = "") -> None:
        """Write one label.  ``night`` is the index of the night it becomes detectable;
        a financing whose row arrives later than that moves it to the row's night."""
        if financing is not None:
            night = max(night, financing.row_night)
        self._n += 1
        key = f"{label}:{check_id}"
        self.counts[key] = self.counts.get(key, 0) + 1
        self._w.writerow((
            f"L{self._n:06d}", iso(self._days[night]), label, check_id,
            financing.id if financing is not None else "", voucher_id, invoice_no, bill_ref, waybill_no,
            f"kind={kind}" + (f"; {note}" if note else ""),
        ))

    def anomaly(self, night: int, check_id: str, kind: str, **fields: object) -> None:
        """Label an anomaly (see :meth:`add`)."""
        self.add("anomaly", night, check_id, kind, **fields)  # type: ignore[arg-type]

    def lookalike(self, night: int, check_id: str, kind: str, **fields: object) -> None:
        """Label a look-alike (see :meth:`add`)."""
        self.add("lookalike", night, check_id, kind, **fields)  # type: ignore[arg-type]

    def close(self) -> None:
        """Flush and close."""
        self._f.close()
