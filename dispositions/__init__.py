"""What a clerk decided about each finding, and the trail of it (the worklist's stored state).

``actions`` is the vocabulary (actions, reason codes, statuses) and one action record;
``trail`` the hash-chained, append-only file every action goes to; ``record`` checks and
appends a batch of requested actions; ``effective`` folds the trail into each night's
``finding_dispositions`` (status, assignee, age), the one table the verdicts read to drop an
approved waiver.  The worklist's views of it (workbook, page) live in :mod:`worklist`;
``scf finding …`` in :mod:`integration.finding_cli`.
"""
