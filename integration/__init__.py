"""The nightly job, its CLI and Dagster definitions."""

import engines  # noqa: F401  (its pyspark/pandas 3 warning filter, before Great Expectations imports pyspark)
