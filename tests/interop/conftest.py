"""The Go interop program (``scfinterop/``), built once per session from Debian's packages.

It is compiled offline in GOPATH mode against ``golang-golang-x-mod-dev`` (``/usr/share/gocode``)
with ``golang-go`` (both installed by ``make golang``, which ``make test`` depends on).  Without
them the interop tests are skipped on a workstation, but fail when ``CI`` is set: CI must
really run them (the same rule as the sshd tests).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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


@pytest.fixture(scope="session")
def go_interop(tmp_path_factory: pytest.TempPathFactory) -> Interop:
    """Build ``scfinterop`` into a session temp dir (offline, no module download)."""
    go = shutil.which("go")
    if go is None or not X_MOD.is_dir():
        message = "Go or golang.org/x/mod is not installed (make golang: Debian golang-go golang-golang-x-mod-dev)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the interop tests", pytrace=False)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("go") / "scfinterop"
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOPROXY": "off",
        "GOFLAGS": "",
        "CGO_ENABLED": "0",
    }
    if "HOME" not in env and "XDG_CACHE_HOME" not in env and "GOCACHE" not in env:
        env["GOCACHE"] = str(tmp_path_factory.mktemp("gocache"))
    proc = subprocess.run(
        [go, "build", "-o", str(out), "."], cwd=PROGRAM, env=env, capture_output=True, timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return Interop(out)
