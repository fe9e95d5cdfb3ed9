"""ABS-ready pools for the securitization team (issue 8).

``candidates`` (the bank's ACTIVE financings as of a cut-off) → ``eligibility`` (every rule
of the criteria file, the waterfall) → ``selection`` (a HiGHS MILP under concentration
limits, or an explanation of why none exists) → ``tape`` and ``manifest`` (signed files
under ``<home>/pools/<pool_id>/``) → ``registry`` (active pools hold their assets) →
``verify`` (hashes, signature, inclusion proofs, nothing pooled twice).  ``cut`` ties them
together; ``scf pool`` is :mod:`integration.pool_cli`.
"""
