"""Names vulture cannot see used, each reviewed: a framework calls or reads them (``make lint``).

Not part of the product (not in the wheel). Add a name here only when something outside our
code uses it, and say what.
"""

from vulture.whitelist_utils import Whitelist

from connectors.sftp import _RejectUnknownHostKey
from foundation.vocabulary import EventType, FinancingStatus
from integration import definitions
from ledger.entries import FinancingRecord
from quality.suites import ColumnValuesMatchFormat, ColumnValuesValidUscc, ExpectColumnValuesToBeValidUscc, ExpectColumnValuesToMatchFormat
from quality.validate import _KeptConnectionEngine
from reconciliation.check import Family
from reconciliation.vocabulary import LinkOutcome

_ = Whitelist()  # an attribute of something outside our code

_RejectUnknownHostKey.missing_host_key  # paramiko calls the host key policy
definitions.__getattr__  # Python's module __getattr__: Dagster loads `defs` through it
FinancingRecord.financed_amount_fen  # a ledger entry's field: encoded and hashed with the entry
FinancingStatus.REPAID, FinancingStatus.DEFAULTED  # codes of platform/financings.csv, looked up by value
EventType.ISSUE, EventType.SPLIT, EventType.TRANSFER, EventType.FINANCE, EventType.SETTLE, EventType.CANCEL  # voucher_events.csv codes
LinkOutcome.MATCHED, LinkOutcome.MISSING, LinkOutcome.AMBIGUOUS, LinkOutcome.NOT_APPLICABLE  # named by the SQL placeholders
Family.SOURCE  # named by the headers of reconciliation/sql/DQ_SOURCE.sql, read by reconciliation.catalogue
ColumnValuesValidUscc  # registered with Great Expectations by subclassing
ColumnValuesValidUscc.condition_metric_name, ExpectColumnValuesToBeValidUscc.map_metric  # read by GX
ColumnValuesMatchFormat, ColumnValuesMatchFormat.condition_metric_name, ColumnValuesMatchFormat.condition_value_keys  # GX
ExpectColumnValuesToMatchFormat.map_metric, ExpectColumnValuesToMatchFormat.success_keys  # read by GX
_KeptConnectionEngine.get_connection  # GX's SqlAlchemyExecutionEngine calls it for every query
# GX's SQLDatasource caches its engines in these (quality.validate._warehouse_source hands one over)
_._engine, _._cached_connection_string, _._execution_engine, _._cached_execution_engine_kwargs
_.progress_bars  # GX's DataContextVariables.progress_bars, set on the context (quality.validate, bench)
_.pytestmark  # pytest reads a test module's pytestmark
_.binary_location  # Selenium's ChromeOptions.binary_location (tests/worklist/test_browser.py)
_.handle_starttag  # html.parser.HTMLParser calls it (tests/worklist/test_exception_report.py)
