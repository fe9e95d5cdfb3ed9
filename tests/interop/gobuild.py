"""The Go interop program (``scfinterop/``): where it is, how it is built, how it is run.

It is compiled offline in GOPATH mode against ``golang-golang-x-mod-dev`` (``/usr/share/gocode``)
with ``golang-go`` (both installed by ``make golang``, which ``make test`` depends on).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROGRAM = Path(__file__).resolve().parent / "scfinterop"
GOPATH = Path("/usr/share/gocode")
X_MOD = GOPATH / "src" / "golang.org" / "x" / "mod" / "sumdb" / "note"
BUILD_TIMEOUT = 300


class GoFailed(AssertionError):
    """The Go program refused its input (its stderr is the message)."""


@dataclass(frozen=True)
class Interop:
    """The built Go program: ``run(subcommand, *flags, stdin=…)`` returns its stdout."""

    binary: Path

    def run(self, command: str, *args: str, stdin: str | bytes = b"") -> str:
        data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
        proc = subprocess.run(
            [str(self.binary), command, *args], input=data, capture_output=True, timeout=60, check=False
        )
        if proc.returncode != 0:
            raise GoFailed(proc.stderr.decode("utf-8", "replace").strip())
        return proc.stdout.decode("utf-8")

    def json(self, command: str, *args: str, stdin: str | bytes = b"") -> Any:
        return json.loads(self.run(command, *args, stdin=stdin))


def build(go: str, out: Path, cache: Path) -> Interop:
    """Compile ``scfinterop`` to ``out`` offline in GOPATH mode (``cache``: GOCACHE if none is set)."""
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": str(GOPATH), "GOPROXY": "off", "GOFLAGS": "",
           "CGO_ENABLED": "0"}
    if "HOME" not in env and "XDG_CACHE_HOME" not in env and "GOCACHE" not in env:
        env["GOCACHE"] = str(cache)
    proc = subprocess.run(
        [go, "build", "-o", str(out), "."], cwd=PROGRAM, env=env, capture_output=True, timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return Interop(out)
