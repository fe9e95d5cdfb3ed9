"""Parallel ingest loads exactly what parsing in-process loads, in the same order."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from concurrent.futures import Future

import pytest

from connectors import loader, spool
from connectors.archive import Archive
from connectors.sources import LocalFolderSource
from foundation.vocabulary import FileStatus
from tests.conftest import REPO, SAMPLE_NIGHT
from warehouse.connection import Warehouse
from warehouse.schemas import FILES, SCHEMAS

NIGHT = dt.date.fromisoformat(SAMPLE_NIGHT)


def _load(tmp_path, inbox, name: str, workers: int) -> dict[str, list[tuple]]:
    archive = Archive(tmp_path / name / "archive")
    night = archive.land_night(LocalFolderSource(inbox), NIGHT)
    with Warehouse(tmp_path / name / "w.duckdb") as wh:
        loaded = loader.load_night(wh, NIGHT, night.files, workers=workers)
        assert loaded.records > 0
        return {t: wh.con.execute(f"SELECT * FROM {t}").fetchall() for t in [*SCHEMAS, "quarantine", "files"]}


@pytest.mark.timeout(120)
def test_worker_processes_load_the_same_rows_as_in_process(tmp_path, sample_inbox, monkeypatch):
    night = sample_inbox / SAMPLE_NIGHT
    (night / "tax" / "broken.xml").write_text("<EInvoiceBatch><EInvoice>", "utf-8")
    inline = _load(tmp_path, sample_inbox, "inline", workers=1)
    monkeypatch.setattr(loader, "PARALLEL_FROM_BYTES", 0)
    monkeypatch.setattr(loader, "_MAX_WORKERS", 2)
    parallel = _load(tmp_path, sample_inbox, "parallel", workers=2)
    assert parallel == inline  # the sample's files are small: parsed together, by one worker task
    monkeypatch.setattr(loader, "GROUP_FILES", 3)
    assert _load(tmp_path, sample_inbox, "groups_of_3", workers=2) == inline
    assert [q[5] for q in inline["quarantine"]] == ["MALFORMED_XML"]
    assert not list((tmp_path / "parallel").glob("spool-*")), "spool files are removed"
    # the writer inserting each file's rows at once (no gathering, one file ahead) loads the same rows in the same order
    monkeypatch.setattr(loader, "INSERT_ROWS", 1)
    monkeypatch.setattr(loader, "IN_FLIGHT_FILES", 1)
    assert _load(tmp_path, sample_inbox, "one_by_one", workers=2) == inline
    # … and inserting whatever is queued whenever it would wait for a worker, too
    monkeypatch.setattr(loader, "INSERT_ROWS", 10**9)
    monkeypatch.setattr(loader, "IN_FLIGHT_FILES", 8)
    monkeypatch.setattr(loader, "IDLE_INSERT_ROWS", 1)
    assert _load(tmp_path, sample_inbox, "idle_inserts", workers=2) == inline


class _Late(Future):
    """A parse not done the first time the writer looks at it, done from then on (no clock: the same under any load)."""

    def __init__(self, parsed: Future) -> None:
        super().__init__()
        self._parsed = parsed
        self._looked = False

    def _finish(self) -> None:
        if not super().done():
            self.set_result(self._parsed.result())

    def done(self) -> bool:
        if not self._looked:
            self._looked = True
            return False
        self._finish()
        return True

    def result(self, timeout: float | None = None):
        self._finish()
        return super().result(timeout)


def test_the_writer_inserts_while_the_next_parse_is_not_done(tmp_path, sample_inbox, monkeypatch):
    """Each parse not done when the writer first looks: the writer inserts what it has queued meanwhile, and the
    night loads the same rows in the same order."""
    inline = _load(tmp_path, sample_inbox, "inline", workers=1)
    submit = loader._submit

    def late(pool, group, spool):
        return [None if parsed is None else _Late(parsed) for parsed in submit(pool, group, spool)]

    inserted_waiting: list[bool] = []
    insert_largest = loader._Inserts.insert_largest

    def told(self: loader._Inserts, rows: int) -> bool:
        inserted_waiting.append(insert_largest(self, rows))
        return inserted_waiting[-1]

    monkeypatch.setattr(loader, "_submit", late)
    monkeypatch.setattr(loader, "INSERT_ROWS", 10**9)
    monkeypatch.setattr(loader, "IDLE_INSERT_ROWS", 1)
    monkeypatch.setattr(loader._Inserts, "insert_largest", told)
    assert _load(tmp_path, sample_inbox, "late", workers=1) == inline
    assert any(inserted_waiting)


def test_the_writer_waiting_inserts_the_largest_queue_only_when_it_is_large_enough(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh, wh.transaction():
        inserts = loader._Inserts(wh)
        rows = [FILES.Row(business_date=NIGHT, rel_path=f"tax/{n}.xml", sha256="0" * 64, size=1, file_kind=None, status=FileStatus.LOADED,
                          rows=0, quarantined=0, superseded=None, seq=n) for n in range(3)]  # fmt: skip
        inserts.add("files", FILES.arrow(rows))
        assert not inserts.insert_largest(4)
        assert wh.con.execute("SELECT count(*) FROM files").fetchall() == [(0,)]
        assert inserts.insert_largest(3)
        assert wh.con.execute("SELECT seq FROM files").fetchall() == [(0,), (1,), (2,)]
        assert not inserts.insert_largest(1)  # nothing left queued
        inserts.flush()
        assert wh.con.execute("SELECT count(*) FROM files").fetchall() == [(3,)]


def test_tables_of_few_rows_load_as_those_spooled_to_files(tmp_path, sample_inbox, monkeypatch):
    kept = _load(tmp_path, sample_inbox, "kept", workers=1)
    assert all(len(rows) < spool.SPOOL_FROM_ROWS for rows in kept.values())  # every table was kept in memory
    monkeypatch.setattr(spool, "SPOOL_FROM_ROWS", 2)  # a file's first row held, the rest spooled after it
    assert _load(tmp_path, sample_inbox, "spooled", workers=1) == kept


@pytest.mark.timeout(120)
@pytest.mark.parametrize("group_files", [32, 1], ids=["files_parsed_together", "each_file_alone"])
def test_a_worker_on_other_code_than_the_night_stops_it_and_loads_nothing(tmp_path, sample_inbox, monkeypatch, group_files):
    """The code on disk changed during a run (an upgrade in place): workers started since run other
    code than the night's process. They refuse the task; the night stops with one line and loads no row
    (once such a worker's results were read by the older night as tables of no rows, silently)."""
    monkeypatch.setattr(loader, "PARALLEL_FROM_BYTES", 0)
    monkeypatch.setattr(loader, "_MAX_WORKERS", 2)
    monkeypatch.setattr(loader, "GROUP_FILES", group_files)
    monkeypatch.setattr(loader, "PARSING_SOURCES", "the sources as the night's process read them before an upgrade")
    archive = Archive(tmp_path / "archive")
    night = archive.land_night(LocalFolderSource(sample_inbox), NIGHT)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        with pytest.raises(spool.ParsingCodeChanged, match="changed while this night ran") as stopped:
            loader.load_night(wh, NIGHT, night.files, workers=2)
        assert "\n" not in str(stopped.value)
        assert wh.con.execute("SELECT count(*) FROM files").fetchone() == (0,)
        assert wh.con.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)


def test_the_parsing_sources_digest_is_of_the_code_on_disk(monkeypatch, tmp_path):
    """The digest changes with any parsing source file's bytes (so an upgrade in place is seen)."""
    assert spool._sources_digest() == spool.PARSING_SOURCES
    (tmp_path / "connectors").mkdir()
    monkeypatch.setattr(spool, "__file__", str(tmp_path / "connectors" / "spool.py"))
    (tmp_path / "connectors" / "spool.py").write_text("A = 1\n", "utf-8")
    before = spool._sources_digest()
    (tmp_path / "connectors" / "spool.py").write_text("A = 2\n", "utf-8")
    assert spool._sources_digest() != before


def test_the_parse_cpu_of_each_file_is_told(tmp_path, sample_inbox):
    """Each parsed file brings back the CPU its parse took; the night adds them up (how busy the parse kept the cores)."""
    archive = Archive(tmp_path / "archive")
    night = archive.land_night(LocalFolderSource(sample_inbox), NIGHT)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        loaded = loader.load_night(wh, NIGHT, night.files, workers=1)
    parsed = [f for f in loaded.files if f.status is FileStatus.LOADED]
    assert parsed and all(f.parse_cpu_s > 0 for f in parsed)
    assert all(f.parse_cpu_s == 0 for f in loaded.files if f.status is not FileStatus.LOADED)
    assert loaded.seconds["parsing_cpu"] == pytest.approx(sum(f.parse_cpu_s for f in parsed))


def test_warming_the_parse_workers_imports_the_parsing_code_in_the_process_they_fork_from(tmp_path):
    """After :func:`loader.warm_parse_workers` of a large night, the forkserver itself holds the parsers' libraries (lxml,
    pyarrow), so the night's workers start parsing without importing them first (its own process: one forkserver a process)."""
    script = tmp_path / "night.py"
    script.write_text(
        "import ast, multiprocessing.forkserver, time\n"
        "from connectors.loader import warm_parse_workers\n"
        "if __name__ == '__main__':\n"
        "    warm_parse_workers(1)  # a night parsed in this process: nothing to start\n"
        "    assert multiprocessing.forkserver._forkserver._forkserver_pid is None\n"
        "    parsed, parse = [], ast.parse\n"
        "    ast.parse = lambda *a, **k: parsed.append(a) or parse(*a, **k)\n"
        "    for _ in range(100):  # called for each file landed: the script is read once, the forkserver started once\n"
        "        warm_parse_workers(1 << 40)\n"
        "    assert len(parsed) == 1, len(parsed)\n"
        "    pid = multiprocessing.forkserver._forkserver._forkserver_pid\n"
        "    for _ in range(300):\n"
        "        maps = open(f'/proc/{pid}/maps').read()\n"
        "        if 'lxml' in maps and 'arrow' in maps:\n"
        "            break\n"
        "        time.sleep(0.1)\n"
        "    print('lxml' in maps and 'arrow' in maps, flush=True)\n",
        "utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120, check=True)
    assert done.stdout.split() == ["True"], done.stderr


def test_the_parse_workers_find_the_main_scripts_imports_done(tmp_path):
    """A worker runs the night's main script again before its first task (``scf``'s imports all of Dagster: 23–25 s
    at load 8–9 before the first file was parsed). The forkserver imports the script's imports once; no worker does."""
    marker = "import os\nwith open(__file__ + '.pids', 'a') as f:\n    f.write(f'{os.getpid()}\\n')\n"
    (tmp_path / "heavy_marker.py").write_text(marker, "utf-8")
    script = tmp_path / "night.py"
    script.write_text(
        "import os\n"
        "import heavy_marker\n"
        "from connectors.loader import _executor\n"
        "if __name__ == '__main__':\n"
        "    with _executor(2, 1 << 40) as pool:\n"
        "        print(' '.join(map(str, {pool.submit(os.getpid).result() for _ in range(8)})), flush=True)\n",
        "utf-8",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)])}
    night = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120, check=True)
    workers = set(night.stdout.split())
    importers = (tmp_path / "heavy_marker.py.pids").read_text("utf-8").split()
    assert workers and not workers & set(importers), "a worker imported the main script's modules itself"
    assert len(importers) == 2  # the night's process and the forkserver
