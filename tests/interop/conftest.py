"""The Go interop program, built once per session (see :mod:`tests.interop.gobuild`).

Without Go and golang.org/x/mod the interop tests are skipped on a workstation, but fail
when ``CI`` is set: CI must really run them (the same rule as the sshd tests).
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.interop.gobuild import X_MOD, Interop, build


@pytest.fixture(scope="session")
def go_interop(tmp_path_factory: pytest.TempPathFactory) -> Interop:
    """``scfinterop`` built into a session temp dir (offline, no module download)."""
    go = shutil.which("go")
    if go is None or not X_MOD.is_dir():
        message = "Go or golang.org/x/mod is not installed (make golang: Debian golang-go golang-golang-x-mod-dev)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the interop tests", pytrace=False)
        pytest.skip(message)
    return build(go, tmp_path_factory.mktemp("go") / "scfinterop", tmp_path_factory.mktemp("gocache"))
