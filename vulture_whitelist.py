"""Names vulture cannot see used, each reviewed: a framework calls or reads them (``make lint``).

Not part of the product (not in the wheel). Add a name here only when something outside our
code uses it, and say what.
"""

from vulture.whitelist_utils import Whitelist

from connectors.sftp import _RejectUnknownHostKey
from integration import definitions
from ledger.entries import FinancingRecord
from ledger.fingerprints import DuplicateFingerprint, ExternalMatch
from quality.suites import ColumnValuesValidUscc, ExpectColumnValuesToBeValidUscc

_ = Whitelist()  # an attribute of something outside our code

_RejectUnknownHostKey.missing_host_key  # paramiko calls the host key policy
definitions.__getattr__  # Python's module __getattr__: Dagster loads `defs` through it
FinancingRecord.financed_amount_fen  # a ledger entry's field: encoded and hashed with the entry
DuplicateFingerprint.digest_hex  # returned to callers of the ledger's fingerprint search
ExternalMatch.digest_hex, ExternalMatch.their_first_seen, ExternalMatch.their_amount_fen  # idem, peer matches
ColumnValuesValidUscc  # registered with Great Expectations by subclassing
ColumnValuesValidUscc.condition_metric_name, ExpectColumnValuesToBeValidUscc.map_metric  # read by GX
_.progress_bars  # GX's DataContextVariables.progress_bars, set on the context (quality.validate, bench)
_.pytestmark  # pytest reads a test module's pytestmark
_.binary_location  # Selenium's ChromeOptions.binary_location (tests/worklist/test_browser.py)
_.handle_starttag  # html.parser.HTMLParser calls it (tests/worklist/test_exception_report.py)
