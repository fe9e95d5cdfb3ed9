"""Progress of the long stages of a night: one small interface, rendered where someone looks.

A stage reports what it has done through :func:`stage`::

    with stage("typed_tables", total=len(files), unit="files") as files_done:
        for path in files:
            ...
            files_done.advance()

and whoever watches registers a :class:`Renderer` with :func:`rendered_by`: the CLI a live
rich progress bar (:class:`RichRenderer`), a Dagster asset log lines and metadata in the
run's event log (:class:`DagsterRenderer`).  Nothing prints by itself: with no renderer a
stage only counts.  Lower layers (connectors, ledger, reconciliation) do not import this
module: they take an ``advance`` callback, and the asset passes :meth:`Stage.advance`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


@dataclass
class Stage:
    """A long piece of work: its name, how much there is (``None``: not known yet), in what unit."""

    name: str
    total: int | None
    unit: str
    done: int = 0
    started: float = field(default_factory=time.monotonic)

    def advance(self, units: int = 1) -> None:
        """Count ``units`` more done and tell the renderers."""
        self.done += units
        for renderer in _renderers():
            renderer.advanced(self)

    def line(self) -> str:
        """``<name>: <done>/<total> <unit> (<pct>%, <s> s)`` — the stage as one log line."""
        of = f"/{self.total:,}" if self.total is not None else ""
        pct = f"{100 * self.done / self.total:.0f}%, " if self.total else ""
        return f"{self.name}: {self.done:,}{of} {self.unit} ({pct}{time.monotonic() - self.started:.1f} s)"


class Renderer(Protocol):
    """Shows stages as they start, advance and finish."""

    def started(self, stage: Stage) -> None: ...
    def advanced(self, stage: Stage) -> None: ...
    def finished(self, stage: Stage) -> None: ...


_R = TypeVar("_R", bound=Renderer)
_lock = threading.Lock()
_active: list[Renderer] = []


def _renderers() -> tuple[Renderer, ...]:
    with _lock:
        return tuple(_active)


@contextmanager
def rendered_by(renderer: _R) -> Iterator[_R]:
    """Show every stage started inside the block with ``renderer`` (and any outer one)."""
    with _lock:
        _active.append(renderer)
    try:
        yield renderer
    finally:
        with _lock:
            _active.remove(renderer)


@contextmanager
def stage(name: str, total: int | None = None, unit: str = "items") -> Iterator[Stage]:
    """A stage of ``total`` ``unit``; call :meth:`Stage.advance` as the work gets done."""
    current = Stage(name, total, unit)
    for renderer in _renderers():
        renderer.started(current)
    try:
        yield current
    finally:
        for renderer in _renderers():
            renderer.finished(current)


class RichRenderer:
    """A live progress bar per stage on a rich console (the CLI's)."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[unit]}"),
            TimeElapsedColumn(), console=console, transient=False,
        )
        self._tasks: dict[int, TaskID] = {}

    def __enter__(self) -> RichRenderer:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def started(self, stage: Stage) -> None:
        self._tasks[id(stage)] = self._progress.add_task(stage.name, total=stage.total, unit=stage.unit)

    def advanced(self, stage: Stage) -> None:
        self._progress.update(self._tasks[id(stage)], completed=stage.done, total=stage.total)

    def finished(self, stage: Stage) -> None:
        task = self._tasks.pop(id(stage))
        self._progress.update(task, completed=stage.done, total=stage.total if stage.total is not None else stage.done)


class DagsterRenderer:
    """Log lines in a Dagster run's event log: at a stage's start, at most every ``every``
    seconds while it advances, and at its end; the last counts of each stage are
    :meth:`metadata` for the asset's materialization."""

    def __init__(self, log: Any, every: float = 2.0) -> None:
        self._log = log  # a Dagster context.log (DagsterLogManager)
        self._every = every
        self._last: dict[int, float] = {}
        self._final: dict[tuple[str, str], int] = {}

    def started(self, stage: Stage) -> None:
        self._last[id(stage)] = time.monotonic()
        self._log.info(f"progress {stage.line()} started")

    def advanced(self, stage: Stage) -> None:
        now = time.monotonic()
        if now - self._last.get(id(stage), 0.0) >= self._every:
            self._last[id(stage)] = now
            self._log.info(f"progress {stage.line()}")

    def finished(self, stage: Stage) -> None:
        self._last.pop(id(stage), None)
        self._final[stage.name, stage.unit] = stage.done
        self._log.info(f"progress {stage.line()} done")

    def metadata(self, name: str) -> dict[str, int]:
        """``progress.<unit>``: what the finished stages called ``name`` did, in each unit."""
        return {f"progress.{unit}": done for (stage_name, unit), done in self._final.items() if stage_name == name}
