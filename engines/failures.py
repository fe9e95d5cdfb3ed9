"""What went wrong when Spark stopped: a translation Spark cannot analyse, or the engine itself.

:func:`classify` turns whatever a Spark call raised into the one error the night stops with:

- :class:`engines.portable.NotPortable` — Spark cannot parse or analyse the translated statement
  (a gap of :mod:`engines.portable`; a change of the code, not of the settings, fixes it);
- :class:`SparkFailed` — the engine failed running it: out of memory, the driver JVM lost (in
  local mode the kernel's out-of-memory killer or a fatal error in a task ends the whole JVM),
  scratch space full, or any other runtime failure.  The message names what ran (the check),
  the cause and the ``[spark]`` setting to raise (:class:`engines.config.SparkSettings`).

It never retries and never skips: a night on Spark judges with the whole catalogue or fails.
"""

from __future__ import annotations

from py4j.protocol import Py4JError, Py4JJavaError, Py4JNetworkError
from pyspark import SparkContext
from pyspark.errors import AnalysisException, PySparkException

from engines.config import SparkSettings
from engines.portable import NotPortable
from foundation.errors import ScfError

#: Texts of a JVM out of memory (heap, GC thrashing, native threads or buffers).
_OUT_OF_MEMORY = ("OutOfMemoryError", "GC overhead limit exceeded", "Java heap space", "SparkOutOfMemoryError",
                  "Not enough memory", "System memory", "insufficient memory")  # fmt: skip
#: Texts of a driver JVM that is gone: the Py4J socket closed or refused mid-call.
_JVM_LOST = ("Answer from Java side is empty", "Error while sending or receiving", "Connection refused",
             "Error while receiving", "SparkContext was shut down", "Cannot call methods on a stopped SparkContext",
             "Java gateway process exited")  # fmt: skip
_NO_SPACE = "No space left on device"
#: How a driver JVM ends, by exit status: Spark's own exit for an out-of-memory task, a kill signal.
_EXITS = {52: "exit 52: out of memory", -9: "killed (SIGKILL, most often the kernel's out-of-memory killer)"}


class SparkFailed(ScfError):
    """The Spark engine failed running the catalogue (memory, the driver lost, disk): one line, the setting to raise."""


def _text(error: BaseException) -> str:
    """``str(error)``, or what Python holds of it when its text lives in a JVM that is gone
    (a Py4J or captured Spark error asks the JVM for its message)."""
    try:
        text = str(error)
        if isinstance(error, Py4JJavaError):  # the Java exception's own message after Py4J's preamble
            text = f"{error.java_exception}\n{text}"
        return text
    except Exception:
        return str(getattr(error, "errmsg", "") or type(error).__name__)


def _line(text: str, error: BaseException, markers: tuple[str, ...] = ("",)) -> str:
    """The first non-empty line of ``text`` holding one of ``markers`` (else ``error``'s class name)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return next((line for line in lines if any(m in line for m in markers)), lines[0] if lines else type(error).__name__)


def jvm_exit() -> int | None:
    """The exit status of this process's Spark driver JVM if it has ended (``None``: running or never started)."""
    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None)
    return None if process is None else process.poll()


def classify(error: BaseException, what: str, settings: SparkSettings) -> ScfError | None:
    """The error a night stops with when Spark raised ``error`` ``what`` (e.g. "running check TRADE_CIRCULAR"):
    ``None`` for an error that is not Spark's (a bug of ours: re-raised as it is)."""
    if isinstance(error, ScfError):
        return error
    text = _text(error)
    memory = f"raise {settings.describe('driver_memory')}" + (
        "" if settings.master.startswith("local") else f" or {settings.describe('executor_memory')}")
    if any(marker in text for marker in _OUT_OF_MEMORY):
        return SparkFailed(f"Spark ran out of memory {what}: {_line(text, error, _OUT_OF_MEMORY)}; {memory}")
    if _NO_SPACE in text:
        return SparkFailed(f"Spark's scratch space is full {what}: {_line(text, error, (_NO_SPACE,))}; "
                           f"free space at or move {settings.describe('local_dir')}")  # fmt: skip
    exit_status = jvm_exit()
    if exit_status is not None or isinstance(error, Py4JNetworkError | ConnectionError) or (
            isinstance(error, Py4JError) and any(marker in text for marker in _JVM_LOST)):  # fmt: skip
        how = _EXITS.get(exit_status, f"exit {exit_status}") if exit_status is not None else _line(text, error)
        return SparkFailed(f"the Spark driver JVM was lost {what} ({how}); it is most often ended for memory: "
                           f"{memory}, or free memory on the machine")  # fmt: skip
    if isinstance(error, AnalysisException):  # the translation, not the engine: parse or analysis
        return NotPortable(f"Spark cannot analyse the statement {what}: {_line(text, error)}")
    if isinstance(error, PySparkException | Py4JError):
        return SparkFailed(f"Spark failed {what}: {_line(text, error)}")
    return None
