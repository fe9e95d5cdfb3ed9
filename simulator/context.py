"""The state of one simulation run, shared by the flows and the planters."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from simulator.ids import Ids
from simulator.labels import LabelWriter
from simulator.params import Tuning
from simulator.platform import Platform
from simulator.timefmt import iso
from simulator.trades import AmountGuard, TradeFactory
from simulator.world import build_world, tier1_per_core
from simulator.writers import Counts, NightFiles

T = TypeVar("T")
Action = Callable[["Sim"], None]


class Reservoir(Generic[T]):
    """A uniform sample of bounded size over everything offered (Algorithm R)."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self._size, self._rng = size, rng
        self._items: list[T] = []
        self._seen = 0

    def offer(self, item: T) -> None:
        """Maybe keep ``item``."""
        self._seen += 1
        if len(self._items) < self._size:
            self._items.append(item)
        else:
            j = int(self._rng.random() * self._seen)
            if j < self._size:
                self._items[j] = item

    def take(self, accept: Callable[[T], bool]) -> T | None:
        """Remove and return the first kept item ``accept`` likes."""
        for i, item in enumerate(self._items):
            if accept(item):
                return self._items.pop(i)
        return None


class Sim:
    """Everything a run needs: randomness, world, ids, open files, pending actions."""

    def __init__(self, out_dir: Path, *, seed: int, nights: int, start: dt.date, trades_per_night: int,
                 anomalies: bool, tuning: Tuning) -> None:
        self.out_dir = out_dir
        self.inbox = out_dir / "inbox"
        self.tuning = tuning
        self.trades_per_night = trades_per_night
        self.anomalies = anomalies
        self.rng = random.Random(seed)
        self.writer_rng = random.Random(seed * 7919 + 1)
        self.world = build_world(random.Random(seed * 31 + 5),
                                 tuning.tier1_per_core or tier1_per_core(trades_per_night), tuning.banks)
        self.ids = Ids(random.Random(seed * 131 + 7), len(self.world.cores))
        self.days = [start.toordinal() + i for i in range(nights)]
        self.night = 0
        self.day = self.days[0]
        self.counts = Counts()
        self.per_night: list[dict[str, int]] = []
        self._files: NightFiles | None = None
        self._pending: list[list[Action]] = [[] for _ in range(nights)]
        self._pending_n = 0
        self._turns: dict[str, int] = {}
        volume = max(1, trades_per_night * nights * 16)
        self.guard = AmountGuard(min(tuning.guard_bits, max(16, volume.bit_length())))
        self.reservoir: Reservoir[object] = Reservoir(tuning.reservoir_size, self.rng)
        self.labels = LabelWriter(out_dir / "labels.csv", self.days)
        self.trades = TradeFactory(self)
        self.platform = Platform(self)

    @property
    def files(self) -> NightFiles:
        """The current night's open files."""
        assert self._files is not None, "no night open"
        return self._files

    @property
    def last(self) -> int:
        """Index of the last night."""
        return len(self.days) - 1

    @property
    def is_last(self) -> bool:
        """True on the last night (nothing can be postponed)."""
        return self.night == self.last

    def turn(self, key: str) -> int:
        """0, 1, 2, ... on successive calls with ``key``: for round-robin choices."""
        n = self._turns.get(key, 0)
        self._turns[key] = n + 1
        return n

    def can_postpone(self) -> bool:
        """True when :meth:`later` would accept an action."""
        return self.night < self.last and self._pending_n < self.tuning.pending_cap

    def later(self, nights_ahead: int, action: Action) -> bool:
        """Run ``action`` on a later night (clamped to the last); False if impossible."""
        if not self.can_postpone():
            return False
        target = min(self.night + max(1, nights_ahead), self.last)
        self._pending[target].append(action)
        self._pending_n += 1
        return True

    def begin_night(self, night: int) -> None:
        """Open the files of night ``night`` and run what earlier nights postponed to it."""
        self.night = night
        self.day = self.days[night]
        self.ids.start_night(self.day)
        self.platform.start_night()
        self._before = dict(self.counts.by_kind)
        self._files = NightFiles(self.inbox / iso(self.day), self.day, self.world, self.tuning,
                                 self.writer_rng, self.counts)
        actions, self._pending[night] = self._pending[night], []
        self._pending_n -= len(actions)
        for action in actions:
            action(self)

    def night_count(self, kind: str) -> int:
        """Records of ``kind`` written so far tonight."""
        return self.counts.get(kind) - self._before.get(kind, 0)

    def end_night(self) -> None:
        """Close the night's files and keep its record counts."""
        self.files.close()
        self._files = None
        self.per_night.append({k: v - self._before.get(k, 0) for k, v in self.counts.by_kind.items()})
