"""Data-quality faults (issue 10): deliveries a compliance officer must not trust.

:func:`simulator.simulate` writes every night complete and on time (:mod:`simulator.arrivals`).
:func:`plant_dq_faults` then edits chosen nights of ``<out>/inbox/`` in place, leaving the
nights around them clean, and writes ``<out>/dq_faults.json``: each fault planted, the
file it touched and what must find it (a ``DQ_*`` check of the source registry, or a GX
expectation as ``<suite>: <expectation>``, as ``dq_results`` names it).

* ``missing_source``: ``tax/invoice_status.csv`` not delivered → ``DQ_SOURCE_MISSING``;
* ``late_file``: the first bills file arrives after the cut-off → ``DQ_SOURCE_LATE``;
* ``renamed_column``: ``financings.csv``'s ``bank_code`` renamed → ``DQ_SCHEMA_DRIFT`` (blocks);
* ``volume_collapse``: the longest ``ap_open_items.csv`` cut to one row → ``DQ_VOLUME_DROP``;
* ``invalid_identifier``: a financing's applicant USCC with a wrong check character → GX
  ``expect_column_values_to_be_valid_uscc(applicant_uscc)``;
* ``duplicated_key``: a financing row delivered twice → GX
  ``expect_column_values_to_be_unique(financing_id)``.

The registry learns a source from three earlier nights (``dq_learned_min_nights``), so
``missing_source`` and ``volume_collapse`` need a night index of 3 or more; a volume is
judged for sources whose median reaches ``dq_volume_min_median`` rows (lower it for a small
simulation).  Planting is deterministic.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from simulator.arrivals import LATE, stamp
from simulator.operations import AP_FILE
from simulator.world import USCC_ALPHABET

DQ_FAULTS_FILE = "dq_faults.json"
LEARNING_NIGHTS = 3
"""Nights of history the registry needs before it expects a source (``dq_learned_min_nights``)."""

FINANCINGS = "platform/financings.csv"
TAX_STATUS = "tax/invoice_status.csv"


@dataclass(frozen=True)
class PlantedDqFault:
    """One planted fault: its kind, night, the file touched and what must find it."""

    kind: str
    night: str
    file: str
    found_by: str
    note: str


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _rewrite(path: Path, lines: list[bytes], day: dt.date) -> None:
    """Write ``lines`` (each ending in a newline) over ``path``, arriving on time."""
    path.write_bytes(b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines))
    stamp(path, day)


def _missing_source(folder: Path, day: dt.date) -> PlantedDqFault:
    (folder / TAX_STATUS).unlink()
    return PlantedDqFault("missing_source", day.isoformat(), TAX_STATUS, "DQ_SOURCE_MISSING",
                          "the tax status feed delivered nothing")


def _late_file(folder: Path, day: dt.date) -> PlantedDqFault:
    target = sorted((folder / "bills").glob("*.xml"))[0]
    stamp(target, day, LATE)
    rel = target.relative_to(folder).as_posix()
    return PlantedDqFault("late_file", day.isoformat(), rel, "DQ_SOURCE_LATE", f"{rel} arrived after the cut-off")


def _renamed_column(folder: Path, day: dt.date) -> PlantedDqFault:
    path = folder / FINANCINGS
    header, *rows = _lines(path)
    _rewrite(path, [header.replace(b"bank_code", b"bank_id", 1), *rows], day)
    return PlantedDqFault("renamed_column", day.isoformat(), FINANCINGS, "DQ_SCHEMA_DRIFT",
                          "column bank_code delivered as bank_id")


def _volume_collapse(folder: Path, day: dt.date) -> PlantedDqFault:
    path = max(sorted(folder.glob(f"erp/*/{AP_FILE}")), key=lambda p: len(_lines(p)))
    lines = _lines(path)
    _rewrite(path, lines[:2], day)
    rel = path.relative_to(folder).as_posix()
    return PlantedDqFault("volume_collapse", day.isoformat(), rel, "DQ_VOLUME_DROP",
                          f"1 of {len(lines) - 1} open payables of the core delivered")


def _invalid_identifier(folder: Path, day: dt.date) -> PlantedDqFault:
    path = folder / FINANCINGS
    header, first, *rows = _lines(path)
    column = header.decode("utf-8").strip().split(",").index("applicant_uscc")
    cells = first.decode("utf-8").rstrip("\r\n").split(",")
    uscc = cells[column]
    cells[column] = uscc[:17] + USCC_ALPHABET[(USCC_ALPHABET.index(uscc[17]) + 1) % len(USCC_ALPHABET)]
    _rewrite(path, [header, (",".join(cells) + "\n").encode("utf-8"), *rows], day)
    return PlantedDqFault("invalid_identifier", day.isoformat(), FINANCINGS,
                          "financings: expect_column_values_to_be_valid_uscc(applicant_uscc)",
                          f"applicant USCC {uscc} delivered as {cells[column]}")


def _duplicated_key(folder: Path, day: dt.date) -> PlantedDqFault:
    path = folder / FINANCINGS
    lines = _lines(path)
    last = lines[-1] if lines[-1].endswith(b"\n") else lines[-1] + b"\n"
    _rewrite(path, [*lines[:-1], last, last], day)
    return PlantedDqFault("duplicated_key", day.isoformat(), FINANCINGS,
                          "financings: expect_column_values_to_be_unique(financing_id)",
                          f"financing {last.split(b',')[0].decode()} delivered twice")


_PLANTERS = {"missing_source": _missing_source, "late_file": _late_file, "renamed_column": _renamed_column,
             "volume_collapse": _volume_collapse, "invalid_identifier": _invalid_identifier,
             "duplicated_key": _duplicated_key}
_NEED_HISTORY = {"missing_source", "volume_collapse"}
DQ_FAULT_KINDS = tuple(_PLANTERS)


@dataclass(frozen=True)
class DqFault:
    """A fault to plant: its kind (one of :data:`DQ_FAULT_KINDS`) on night index ``night``."""

    kind: str
    night: int


def parse_dq_fault(text: str) -> DqFault:
    """A fault from its command-line form ``<kind>:<night index>``, e.g. ``late_file:3``."""
    kind, _, night = text.partition(":")
    if kind not in _PLANTERS:
        raise ValueError(f"unknown data-quality fault {kind!r}: one of {', '.join(DQ_FAULT_KINDS)}")
    if not night.isdigit():
        raise ValueError(f"{text!r}: give {kind}:<night index>")
    return DqFault(kind, int(night))


def plant_dq_faults(out: Path, *faults: DqFault) -> list[PlantedDqFault]:
    """Plant ``faults`` into the simulation under ``out`` (``out/inbox/<date>/``, written by
    :func:`simulator.simulate`) and write ``out/dq_faults.json``."""
    nights = sorted(p.name for p in (Path(out) / "inbox").iterdir() if p.is_dir())
    planted: list[PlantedDqFault] = []
    for fault in faults:
        if not 0 <= fault.night < len(nights):
            raise ValueError(f"{fault.kind}:{fault.night}: the simulation has nights 0 to {len(nights) - 1}")
        if fault.kind in _NEED_HISTORY and fault.night < LEARNING_NIGHTS:
            raise ValueError(f"{fault.kind}:{fault.night}: the registry judges it from night {LEARNING_NIGHTS} on")
        name = nights[fault.night]
        planted.append(_PLANTERS[fault.kind](Path(out) / "inbox" / name, dt.date.fromisoformat(name)))
    (Path(out) / DQ_FAULTS_FILE).write_text(
        json.dumps([asdict(p) for p in planted], ensure_ascii=False, indent=1) + "\n", "utf-8")
    return planted
