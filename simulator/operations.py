"""Operational faults: the same deliveries as real operations bring them to the engine.

:func:`simulator.simulate` writes every night as it should be — complete, on time, once —
under ``<out>/inbox/<date>/``: the *in-order* deliveries.  :func:`plan_operations` turns
them into what an operator really sees, and writes it beside them:

* ``<out>/deliveries/<date>.<n>/``: the *pieces* that reach the inbox one after the other,
  each a partial night folder (copied over ``inbox/<date>/``: a file already there with
  other bytes is a restatement);
* ``<out>/schedule.json``: the faults planted (each with the financings it must turn
  ``review``), the named settings (``scf.toml`` contents) and the *steps*: deliver a piece,
  run a night with some settings.  Each run step says what its night's reports must be:
  ``in_order`` (equal to the in-order run's), ``pending`` (equal, except financings whose
  evidence has not arrived: ``review`` with an evidence-pending finding), ``held`` (the run
  fails, its reports held by a blocking data-quality issue: a wrong ``[csv]`` override makes
  a core's ERP unreadable, which is schema drift) or ``any`` (e.g. a night run before an
  earlier one was delivered: it may also be refused).

The faults (issue 9, "How it is shown"): a source one night late (:class:`LateSource`), a
restated file (:class:`RestatedFile`), a bad-configuration night then fixed
(:class:`BadConfig`), nights delivered and run out of order (:class:`OutOfOrder`), a
re-run of an earlier night (:class:`Rerun`) and a backfill after a correction
(:class:`Backfill`).  Malformed financing rows are planted by the simulator itself
(:mod:`simulator.malformed`): they are in the in-order deliveries.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCHEDULE_FILE = "schedule.json"
FIXED, BAD = "fixed", "bad"
IN_ORDER, PENDING, HELD, ANY = "in_order", "pending", "held", "any"
AP_FILE = "ap_open_items.csv"
VENDORS_FILE = "vendors.csv"


# ---- what a schedule is ---------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One thing the operator does: deliver a piece of a night, or run a night."""

    op: str  # "deliver" or "run"
    night: str  # ISO business date
    piece: str = ""  # deliver: folder relative to the simulation's out dir, e.g. "deliveries/2026-11-18.0"
    settings: str = FIXED  # run: key of Schedule.settings
    expect: str = ANY  # run: IN_ORDER, PENDING, HELD or ANY


@dataclass(frozen=True)
class PlantedFault:
    """A fault as planted: its kind, night, what it touched, the financings it makes pending."""

    kind: str
    night: str
    note: str
    pending_financings: tuple[str, ...] = ()


@dataclass
class Schedule:
    """The steps of one operational history of a simulation's deliveries (``schedule.json``)."""

    nights: list[str]
    settings: dict[str, dict[str, object]]
    faults: list[PlantedFault] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    pieces: dict[str, list[str]] = field(default_factory=dict)  # night → its pieces, in delivery order

    def in_order_steps(self) -> list[Step]:
        """The reference history: every night's in-order folder delivered and run once, in order."""
        steps: list[Step] = []
        for night in self.nights:
            steps.append(Step("deliver", night, piece=f"inbox/{night}"))
            steps.append(Step("run", night, expect=IN_ORDER))
        return steps

    def to_json(self) -> str:
        """``schedule.json`` text (stable key order)."""
        return json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True) + "\n"

    @classmethod
    def read(cls, path: Path) -> Schedule:
        """Read a ``schedule.json``."""
        raw = json.loads(path.read_text("utf-8"))
        return cls(
            nights=raw["nights"],
            settings=raw["settings"],
            faults=[PlantedFault(**{**f, "pending_financings": tuple(f["pending_financings"])}) for f in raw["faults"]],
            steps=[Step(**s) for s in raw["steps"]],
            pieces=raw["pieces"],
        )


# ---- the faults -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LateSource:
    """A core enterprise's ERP export for night ``night`` is delivered in the next night's
    folder (its rows dated as before, ahead of that night's rows).  ``core``: its USCC
    (default: a seeded choice)."""

    night: int
    core: str | None = None


@dataclass(frozen=True)
class RestatedFile:
    """A core's ``ap_open_items.csv`` of night ``night`` first arrives cut short (the first
    half of its rows), then restated in full in a later delivery of the same night."""

    night: int
    core: str | None = None


@dataclass(frozen=True)
class BadConfig:
    """Night ``night`` is first run with a wrong ``[csv]`` override for the core whose SAP
    exports GB18030 with ``|`` (utf-8 and ``,``: its files are unreadable), then re-run
    with the right one."""

    night: int


@dataclass(frozen=True)
class OutOfOrder:
    """Nights delivered and run in this order of night indexes, e.g. ``(0, 2, 1, 2)``: a
    night's folder is delivered the first time it appears."""

    order: tuple[int, ...]


@dataclass(frozen=True)
class Rerun:
    """Every night run in order, then night ``night`` run again (and the last night after it)."""

    night: int


@dataclass(frozen=True)
class Backfill:
    """Every night delivered and run in order while a core's payables of night ``night``
    are cut short; then the full file is restated and nights ``night`` .. last are
    backfilled in order."""

    night: int
    core: str | None = None


Fault = LateSource | RestatedFile | BadConfig | OutOfOrder | Rerun | Backfill


# ---- reading the in-order deliveries ------------------------------------------------------------
def _split_lines(raw: bytes) -> tuple[bytes, list[bytes]]:
    """(header line, data lines) of a CSV file, each line with its newline.  Works on the
    bytes: neither UTF-8 nor GB18030 ever puts 0x0A inside a character."""
    lines = raw.splitlines(keepends=True)
    return lines[0], [ln for ln in lines[1:] if ln.strip()]


def _csv_rows(raw: bytes) -> list[dict[str, str]]:
    """Rows of a delivered CSV (UTF-8 with or without BOM, else GB18030; ``,`` or ``|``)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    delimiter = "|" if "|" in text.split("\n", 1)[0] else ","
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def _ap_keys(raw: bytes) -> set[str]:
    """``BUKRS-GJAHR-BELNR-BUZEI`` of every payable in an ``ap_open_items.csv``."""
    return {f"{r['BUKRS']}-{r['GJAHR']}-{r['BELNR']}-{r['BUZEI']}" for r in _csv_rows(raw)}


class _Deliveries:
    """The in-order deliveries of a simulation, read once."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.nights = sorted(p.name for p in (out / "inbox").iterdir() if p.is_dir())
        self.files: dict[str, dict[str, bytes]] = {
            night: {p.relative_to(out / "inbox" / night).as_posix(): p.read_bytes()
                    for p in sorted((out / "inbox" / night).rglob("*")) if p.is_file()}
            for night in self.nights
        }
        self.cores = sorted({rel.split("/")[1] for files in self.files.values() for rel in files
                             if rel.startswith("erp/")})

    def gb18030_core(self) -> tuple[str, str]:
        """(USCC, delimiter) of the first core whose ERP files are not UTF-8."""
        for core in self.cores:
            raw = self.files[self.nights[0]][f"erp/{core}/{AP_FILE}"]
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                header = raw.decode("gb18030").split("\n", 1)[0]
                return core, "|" if "|" in header else ","
        raise ValueError("no core enterprise exports GB18030")

    def financings_resting_on(self, night: str, issuer: str, ap_keys: set[str]) -> tuple[str, ...]:
        """Financings, up to ``night``, of the vouchers ``issuer`` issued on ``ap_keys`` and of
        their split descendants whose rows have arrived: the financings those payables evidence."""
        vouchers: set[str] = set()
        upto = [n for n in self.nights if n <= night]
        for n in upto:
            for e in _csv_rows(self.files[n]["platform/voucher_events.csv"]):
                issued = e["event_type"] == "ISSUE" and e["issuer_uscc"] == issuer and e["ap_ref"] in ap_keys
                if issued or (e["event_type"] == "SPLIT" and e["parent_voucher_id"] in vouchers):
                    vouchers.add(e["voucher_id"])
        return tuple(sorted(f["financing_id"] for n in upto for f in _csv_rows(self.files[n]["platform/financings.csv"])
                            if f["asset_ref"] in vouchers))


# ---- planning ------------------------------------------------------------------------------------
class _Planner:
    """Builds the pieces and steps of one schedule."""

    def __init__(self, d: _Deliveries, rng: random.Random) -> None:
        self.d, self.rng = d, rng
        core, delimiter = d.gb18030_core()
        self.settings: dict[str, dict[str, object]] = {
            FIXED: {"csv": {f"erp/{core}": {"encoding": "gb18030", "delimiter": delimiter}}},
            BAD: {"csv": {f"erp/{core}": {"encoding": "utf-8", "delimiter": "," if delimiter == "|" else "|"}}},
        }
        self.bad_core = core
        # night → pieces (rel_path → bytes), in delivery order; the first is the night's folder
        self.pieces: dict[str, list[dict[str, bytes]]] = {n: [dict(files)] for n, files in d.files.items()}
        self.faults: list[PlantedFault] = []
        self.steps: list[Step] = []

    def night(self, i: int) -> str:
        nights = self.d.nights
        if not 0 <= i < len(nights):
            raise ValueError(f"night index {i} outside 0..{len(nights) - 1}")
        return nights[i]

    def core(self, wanted: str | None) -> str:
        if wanted is not None:
            if wanted not in self.d.cores:
                raise ValueError(f"no ERP of core {wanted} in the deliveries")
            return wanted
        return self.d.cores[int(self.rng.random() * len(self.d.cores))]

    # deliveries
    def late_source(self, f: LateSource) -> None:
        if f.night >= len(self.d.nights) - 1:
            raise ValueError("a late source needs a later night to arrive in")
        night, nxt, core = self.night(f.night), self.night(f.night + 1), self.core(f.core)
        prefix = f"erp/{core}/"
        first, later = self.pieces[night][0], self.pieces[nxt][0]
        held = {rel: raw for rel, raw in first.items() if rel.startswith(prefix)}
        for rel, raw in held.items():
            del first[rel]
            if rel.endswith(VENDORS_FILE):
                continue  # the next night's vendor master holds every vendor of this one
            header, rows = _split_lines(later[rel])
            _old_header, late_rows = _split_lines(raw)
            later[rel] = header + b"".join(late_rows) + b"".join(rows)
        pending = self.d.financings_resting_on(night, core, _ap_keys(held[prefix + AP_FILE]))
        self.faults.append(PlantedFault("late_source", night, f"ERP of core {core} for {night} delivered on {nxt}",
                                        pending))

    def cut_payables(self, i: int, wanted: str | None, kind: str) -> None:
        """Deliver a core's payables of night ``i`` cut short first, restated in full later."""
        night, core = self.night(i), self.core(wanted)
        rel = f"erp/{core}/{AP_FILE}"
        full = self.pieces[night][0][rel]
        header, rows = _split_lines(full)
        kept = rows[: len(rows) // 2]
        self.pieces[night][0][rel] = header + b"".join(kept)
        self.pieces[night].append({rel: full})
        missing = _ap_keys(full) - _ap_keys(header + b"".join(kept))
        pending = self.d.financings_resting_on(night, core, missing)
        self.faults.append(PlantedFault(kind, night, f"{rel} first delivered with {len(kept)} of {len(rows)} rows, "
                                        "then restated in full", pending))

    # steps
    def deliver(self, night: str, n: int) -> None:
        self.steps.append(Step("deliver", night, piece=f"deliveries/{night}.{n}"))

    def run(self, night: str, expect: str, settings: str = FIXED) -> None:
        self.steps.append(Step("run", night, settings=settings, expect=expect))

    def in_order(self, pending: set[str]) -> None:
        """Deliver every piece and run each night after each of its pieces, in order: the run
        on a night's last piece is as in order (``pending`` for the nights in ``pending``);
        on an earlier piece (a file cut short, restated later) anything may be found."""
        for night in self.d.nights:
            for n in range(len(self.pieces[night])):
                self.deliver(night, n)
                last = n == len(self.pieces[night]) - 1
                self.run(night, ANY if not last else PENDING if night in pending else IN_ORDER)

    def write(self, out: Path) -> Schedule:
        root = out / "deliveries"
        if root.exists():
            shutil.rmtree(root)
        names: dict[str, list[str]] = {}
        for night, pieces in self.pieces.items():
            names[night] = []
            for n, files in enumerate(pieces):
                name = f"deliveries/{night}.{n}"
                names[night].append(name)
                for rel, raw in files.items():
                    target = out / name / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(raw)
        schedule = Schedule(list(self.d.nights), self.settings, self.faults, self.steps, names)
        (out / SCHEDULE_FILE).write_text(schedule.to_json(), "utf-8")
        return schedule


def plan_operations(out: Path, *faults: Fault, seed: int = 7) -> Schedule:
    """Plant operational ``faults`` into the simulation under ``out`` (written by
    :func:`simulator.simulate`): write ``out/deliveries/`` and ``out/schedule.json``.

    :class:`LateSource` and :class:`RestatedFile` change the deliveries and combine freely;
    their schedule delivers every piece in order and runs each night after each of its
    pieces.  :class:`BadConfig`, :class:`OutOfOrder`, :class:`Rerun` and :class:`Backfill`
    are histories of their own and are planted alone.  Deterministic for the same
    deliveries, faults and seed.  The settings ``fixed`` are right for every history (the
    in-order reference runs with them too).
    """
    p = _Planner(_Deliveries(Path(out)), random.Random(seed))
    deliveries = [f for f in faults if isinstance(f, (LateSource, RestatedFile))]
    histories = [f for f in faults if not isinstance(f, (LateSource, RestatedFile))]
    if histories and (deliveries or len(histories) > 1):
        raise ValueError(f"{type(histories[0]).__name__} is planted alone")
    late: set[str] = set()
    for f in deliveries:
        if isinstance(f, LateSource):
            p.late_source(f)
            late.add(p.night(f.night))
        else:
            p.cut_payables(f.night, f.core, "restated_file")
    if histories:
        _history(p, histories[0])
    else:
        p.in_order(late)
    return p.write(Path(out))


def _history(p: _Planner, fault: Fault) -> None:
    """The steps of a fault that is a history of runs."""
    nights = p.d.nights
    if isinstance(fault, BadConfig):
        night = p.night(fault.night)
        ap = p.d.files[night][f"erp/{p.bad_core}/{AP_FILE}"]
        pending = p.d.financings_resting_on(night, p.bad_core, _ap_keys(ap))
        p.faults.append(PlantedFault("bad_config", night, f"first run with settings {BAD!r} (wrong [csv] override "
                                     f"for erp/{p.bad_core}), then re-run with {FIXED!r}", pending))
        for n in nights:
            p.deliver(n, 0)
            if n == night:
                p.run(n, HELD, BAD)
            p.run(n, IN_ORDER)
    elif isinstance(fault, OutOfOrder):
        seen: set[int] = set()
        for i in fault.order:
            night = p.night(i)
            if i not in seen:
                seen.add(i)
                p.deliver(night, 0)
            complete = all(j in seen for j in range(i + 1))
            p.run(night, IN_ORDER if complete else ANY)
        p.faults.append(PlantedFault("out_of_order", nights[fault.order[-1]],
                                     "nights delivered and run in the order " + ", ".join(nights[i] for i in fault.order)))
    elif isinstance(fault, Rerun):
        p.in_order(set())
        p.run(p.night(fault.night), IN_ORDER)
        if fault.night != len(nights) - 1:
            p.run(nights[-1], IN_ORDER)
        p.faults.append(PlantedFault("rerun", p.night(fault.night), "re-run after every later night ran"))
    elif isinstance(fault, Backfill):
        p.cut_payables(fault.night, fault.core, "backfill")
        first = p.night(fault.night)
        for n in nights:
            p.deliver(n, 0)
            p.run(n, ANY if n >= first else IN_ORDER)
        p.deliver(first, 1)
        for n in nights[fault.night:]:
            p.run(n, IN_ORDER)
    else:
        raise TypeError(f"not a fault: {fault!r}")



_BY_NAME: dict[str, type] = {"late_source": LateSource, "restated_file": RestatedFile, "bad_config": BadConfig,
                             "out_of_order": OutOfOrder, "rerun": Rerun, "backfill": Backfill}


def parse_fault(text: str) -> Fault:
    """A fault from its command-line form ``<kind>:<night index>`` (``out_of_order:0,2,1,2``
    for an order of night indexes), e.g. ``late_source:0``."""
    kind, _, arg = text.partition(":")
    if kind not in _BY_NAME:
        raise ValueError(f"unknown fault {kind!r}: one of {', '.join(_BY_NAME)}")
    try:
        numbers = tuple(int(x) for x in arg.split(","))
    except ValueError:
        raise ValueError(f"{text!r}: give {kind}:<night index>" + (",<night index>…" if kind == "out_of_order" else "")) from None
    if kind == "out_of_order":
        return OutOfOrder(numbers)
    if len(numbers) != 1:
        raise ValueError(f"{text!r}: {kind} takes one night index")
    return _BY_NAME[kind](numbers[0])
