"""The Spark knobs that decide whether a big night finishes: ``[spark]`` of ``scf.toml``.

Declared once here (the fields, their defaults, the Spark configuration each one sets and the
``scf.toml`` key an error names); ``integration.settings`` reads and validates the section into
a :class:`SparkSettings`, :func:`engines.spark.spark_session` passes it to the session, and an
engine failure (:mod:`engines.failures`) names the setting to raise.  Importing this module
does not import pyspark: a DuckDB night never needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SECTION = "spark"

#: How a temporary table of the session (a prelude, the match, a shared CTE, the findings so far)
#: is held between statements: ``checkpoint`` — a local checkpoint in the block manager, memory
#: then disk, lineage cut (plans stay small); ``disk`` — the same on local disk only (the driver's
#: heap stays free for planning; slower reads); ``cache`` — persisted (memory then disk) with its
#: lineage kept (each later plan carries every earlier one: for small nights only).
MATERIALIZE = ("checkpoint", "disk", "cache")

#: A JVM size as Spark reads it: a number and a unit (k, m, g, t), e.g. "6g", "512m".
JVM_SIZE = re.compile(r"[1-9][0-9]*[kmgt]", re.IGNORECASE)
#: A master Spark understands: local mode (``local``, ``local[N]``, ``local[*]``) or a cluster URL.
MASTER = re.compile(r"local(\[([1-9][0-9]*|\*)\])?|(spark|k8s|mesos)://\S+|yarn")

#: Below this the Spark driver refuses to start (its reserved memory is 300 MiB, times 1.5).
MIN_DRIVER_MEMORY_MIB = 450


@dataclass(frozen=True)
class SparkSettings:
    """``[spark]``: where the catalogue runs on a Spark night and with what memory (docs/CONFIGURATION.md)."""

    master: str = "local[2]"  # local mode (the driver JVM runs the tasks) or a cluster's URL
    driver_memory: str = "4g"  # the driver JVM's heap; in local mode it also holds every task and materialised table
    executor_memory: str = "4g"  # each executor's heap on a cluster (local mode has no executor of its own)
    shuffle_partitions: int = 8  # partitions of every join and aggregation (spark.sql.shuffle.partitions)
    local_dir: Path | None = None  # scratch for spill and materialised tables (Spark's default: the system temp folder)
    materialize: str = "checkpoint"  # MATERIALIZE

    def conf(self) -> dict[str, str]:
        """The Spark configuration these settings set (``local_dir`` as given: absolute by then)."""
        conf = {
            "spark.driver.memory": self.driver_memory,
            "spark.executor.memory": self.executor_memory,
            "spark.sql.shuffle.partitions": str(self.shuffle_partitions),
        }
        if self.local_dir is not None:
            conf["spark.local.dir"] = str(self.local_dir)
        return conf

    def describe(self, field: str) -> str:
        """``[spark] <field> (now <value>)``: how an error names a setting to change."""
        return f"[{SECTION}] {field} (now {getattr(self, field)})"

    @staticmethod
    def memory_mib(size: str) -> int:
        """A :data:`JVM_SIZE` in MiB (rounded down)."""
        number, unit = int(size[:-1]), size[-1].lower()
        return number * {"k": 1, "m": 1024, "g": 1024**2, "t": 1024**3}[unit] // 1024


#: Every setting at its default (a Spark night with no ``[spark]`` section).
DEFAULT_SPARK = SparkSettings()
