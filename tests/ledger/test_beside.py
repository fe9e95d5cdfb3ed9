"""The night's connection work run beside the deciding of events (ledger.process.beside): the
financings are read on the second thread while the first events are decided; a failure on either
thread stops the night with nothing written and the connection free."""

from __future__ import annotations

import threading

import duckdb
import pytest

from ledger import inputs as ledger_inputs
from ledger import process as ledger_process
from ledger.process import beside
from tests.ledger_nights import SAMPLE_DATE, Harness, busy_night


@pytest.fixture
def harness(tmp_path) -> Harness:
    h = Harness(duckdb.connect(str(tmp_path / "warehouse.duckdb")), tmp_path / "checkpoints")
    busy_night(SAMPLE_DATE, 20).load(h.con)
    return h


def entries(h: Harness) -> int:
    return h.con.execute("SELECT count(*) FROM ledger_entries").fetchall()[0][0]


def test_the_financings_are_read_beside_the_first_events(harness: Harness, monkeypatch) -> None:
    read_on: list[str] = []
    convert = ledger_inputs._delivered_financings

    def recorded(page):  # type: ignore[no-untyped-def]
        read_on.append(threading.current_thread().name)
        return convert(page)

    monkeypatch.setattr(ledger_inputs, "_delivered_financings", recorded)
    assert harness.run(SAMPLE_DATE).appended == 100
    assert read_on == ["ledger-beside"]


def test_an_error_while_events_are_decided_waits_for_the_read_and_leaves_nothing(harness: Harness, monkeypatch) -> None:
    reading = threading.Event()
    convert = ledger_inputs._delivered_financings

    def slow(page):  # type: ignore[no-untyped-def]
        reading.set()
        threading.Event().wait(0.3)  # still reading when the deciding fails
        return convert(page)

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        assert reading.wait(10)
        raise RuntimeError("decision failed")

    monkeypatch.setattr(ledger_inputs, "_delivered_financings", slow)
    monkeypatch.setattr(ledger_process, "decide_event", failing)
    with pytest.raises(RuntimeError, match="decision failed"):
        harness.run(SAMPLE_DATE)
    assert [t.name for t in threading.enumerate() if t.name == "ledger-beside"] == []
    assert entries(harness) == 0  # rolled back after the read ended (DuckDB refuses a second caller)
    monkeypatch.undo()
    assert harness.run(SAMPLE_DATE).appended == 100


def test_an_error_of_the_read_beside_stops_the_night_with_nothing_written(harness: Harness, monkeypatch) -> None:
    def failing(page):  # type: ignore[no-untyped-def]
        raise ValueError("bad financing page")

    monkeypatch.setattr(ledger_inputs, "_delivered_financings", failing)
    with pytest.raises(ValueError, match="bad financing page"):
        harness.run(SAMPLE_DATE)
    assert entries(harness) == 0


def test_beside_waits_for_its_job_and_raises_its_error_after_the_block() -> None:
    order: list[str] = []
    with pytest.raises(KeyError), beside(lambda: (threading.Event().wait(0.1), order.append("job"), {}["missing"])):
        order.append("block")
    assert order == ["block", "job"]
    with pytest.raises(ZeroDivisionError), beside(lambda: order.append("second job")):
        1 / 0  # noqa: B018 - the block's own error wins, after the job ended
    assert order[-1] == "second job"
    with beside(None):
        order.append("alone")
    assert order[-1] == "alone"
