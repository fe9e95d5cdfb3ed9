"""The repo's copy of the contract (docs/spec/) stays in step with the shared spec.

A fresh clone tests against ``docs/spec``; where the steering folder's ``shared/spec`` lies
beside the clone (a developer's machine, CI), every file of it must be in the copy with
the same bytes.  ``make spec`` refreshes the copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO, SPEC

SHARED_SPEC = REPO.parent / "shared" / "spec"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_repo_carries_the_contract_and_its_samples() -> None:
    names = _files(SPEC)
    assert {"INPUTS.md", "OUTPUTS.md"} <= set(names)
    assert any(n.startswith("samples/2026-11-20/") for n in names)


@pytest.mark.skipif(not SHARED_SPEC.is_dir(), reason="no shared/spec beside this clone")
def test_the_copy_equals_the_shared_spec() -> None:
    shared, ours = _files(SHARED_SPEC), _files(SPEC)
    missing = sorted(set(shared) - set(ours))
    stale = sorted(n for n in shared if n in ours and ours[n] != shared[n])
    assert not missing and not stale, f"run `make spec`: missing {missing}, stale {stale}"
