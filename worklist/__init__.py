"""The back office's worklist: what a clerk decided about each finding, and the trail of it.

``actions`` is the vocabulary (actions, reason codes, statuses) and one action record;
``trail`` the hash-chained, append-only file every action goes to; ``effective`` folds the
trail into each night's ``finding_dispositions`` (status, assignee, age), the one table the
verdicts read to drop an approved waiver; ``workbook`` loads a filled-in ``exceptions.xlsx``
back; ``cli`` is ``scf finding …``.
"""
