"""Errors an operator acts on: each message is one line naming the cause and the fix.

Anything raised as :class:`ScfError` ends a command with ``error: <message>`` and a non-zero
exit (the trace goes to the home's log file); it is never caught and turned into a success.
"""

from __future__ import annotations


class ScfError(Exception):
    """A failure the operator must act on; ``str(error)`` is one line: the cause and the fix."""


class ConfigError(ScfError):
    """The configuration is invalid or incomplete (file, key and reason in the message)."""


class IntegrityError(ScfError):
    """Stored evidence failed verification (archive, manifest, ledger, checkpoint or keys)."""
