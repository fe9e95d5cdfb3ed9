"""The repo's copy of the contract (docs/spec/) stays in step with the shared spec.

A fresh clone tests against ``docs/spec``; where the steering folder's ``shared/spec`` lies
beside the clone (a developer's machine, CI; or wherever ``SCF_SHARED_SPEC`` points, as for a
worktree), the copy holds exactly its files with the same bytes.  ``make spec`` (same
variable) refreshes the copy.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import REPO, SPEC

SHARED_SPEC = Path(os.environ.get("SCF_SHARED_SPEC", REPO.parent / "shared" / "spec"))


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_repo_carries_the_contract_and_its_samples() -> None:
    names = _files(SPEC)
    assert {"INPUTS.md", "OUTPUTS.md"} <= set(names)
    assert any(n.startswith("samples/2026-11-20/") for n in names)


@pytest.mark.skipif(not SHARED_SPEC.is_dir(), reason="no shared/spec beside this clone (set SCF_SHARED_SPEC)")
def test_the_copy_equals_the_shared_spec() -> None:
    shared, ours = _files(SHARED_SPEC), _files(SPEC)
    missing = sorted(set(shared) - set(ours))
    extra = sorted(set(ours) - set(shared))
    stale = sorted(n for n in shared if n in ours and ours[n] != shared[n])
    assert not missing and not extra and not stale, f"run `make spec`: missing {missing}, extra {extra}, stale {stale}"
