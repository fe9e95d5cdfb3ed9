"""The Dagster definitions load in any process, whatever its ``__main__``."""

from __future__ import annotations

import subprocess
import sys


def test_the_definitions_load_in_a_process_whose_main_has_no_file() -> None:
    """A Dagster run worker's ``__main__`` has no file; pyspark's connect module (imported by
    great_expectations' compatibility layer) then exits the process with status 0 when its client
    libraries are missing, and every night under the daemon failed before its first step."""
    done = subprocess.run([sys.executable, "-c", "import integration.definitions; print('loaded')"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.stdout.strip().endswith("loaded"), done.stderr[-2000:]
