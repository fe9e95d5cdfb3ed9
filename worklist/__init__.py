"""The back office's worklist: each night's findings and verdicts as a workbook and a page.

``rows`` reads the night's findings and verdicts with their dispositions (:mod:`dispositions`);
``workbook`` writes ``exceptions.xlsx`` and loads a filled-in one back; ``page`` writes
``exceptions.html``; ``exception_report`` writes both for a night.
"""
