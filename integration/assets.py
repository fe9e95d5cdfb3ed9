"""The nightly job's assets, one partition per business date.

landed_files → typed_tables → voucher_ledger → findings → nightly_reports

The warehouse is the storage of every asset: assets return only metadata, and each step
reads what the previous one wrote.  Every asset replaces its own output for the night,
so a re-run of a partition gives the same result.
"""


import datetime as dt
import logging
import time

import dagster as dg

from connectors.loader import load_night
from integration.audit import audit_home
from integration.home import ledger_keys
from integration.resources import ScfHome
from ledger.entries import ArchiveManifest
from ledger.nightly import append_night
from reconciliation.exception_report import write_exception_reports
from reconciliation.findings import run_catalogue
from reconciliation.reports import write_csv_reports

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="Asia/Shanghai", end_offset=1)
progress = logging.getLogger("scf.progress")


def business_date_of(context: dg.AssetExecutionContext) -> dt.date:
    """The business date of the partition being materialized."""
    return dt.date.fromisoformat(context.partition_key)


def _report(context: dg.AssetExecutionContext, started: float, message: str) -> None:
    """Log an asset's outcome to Dagster and to ``scf.progress`` (with ``asset`` and ``seconds``)."""
    asset, seconds = context.asset_key.to_user_string(), time.perf_counter() - started
    line = f"{asset}: {message} ({seconds:.1f} s)"
    context.log.info(line)
    progress.info(line, extra={"asset": asset, "seconds": seconds})


@dg.asset(partitions_def=PARTITIONS, group_name="nightly")
def landed_files(context: dg.AssetExecutionContext, scf: ScfHome) -> dg.MaterializeResult:
    """The night's delivery, pulled from the inbox (local folder or SFTP) into the immutable,
    content-addressed archive. Re-delivered bytes are archived once; a restated file is kept
    beside its earlier version and wins. Nothing is landed unless the home's keys, archive,
    manifest and ledger index verify first."""
    started = time.perf_counter()
    day = business_date_of(context)
    settings = scf.settings()
    for line in audit_home(settings).lines:
        context.log.info(f"verified before landing: {line}")
    source = settings.source()
    try:
        night = settings.archive().land_night(source, day)
    finally:
        source.close()
    statuses = {s: sum(1 for f in night.files if f.status == s) for s in ("new", "restated", "duplicate")}
    _report(context, started, f"{len(night.files)} files landed {statuses}")
    return dg.MaterializeResult(metadata={"files": len(night.files), **statuses})


@dg.asset(partitions_def=PARTITIONS, group_name="nightly", deps=[landed_files])
def typed_tables(context: dg.AssetExecutionContext, scf: ScfHome) -> dg.MaterializeResult:
    """Every landed file of the night parsed into the warehouse's typed tables (replacing the
    night's earlier rows); records that break the format, and files that cannot be parsed,
    quarantined with file, position and reason."""
    started = time.perf_counter()
    day = business_date_of(context)
    settings = scf.settings()
    night = settings.archive().night_manifest(day)
    with settings.open_warehouse() as warehouse:
        loaded = load_night(
            warehouse, day, night.files, csv_override=settings.csv_override, max_amount_fen=settings.max_amount_fen
        )
    _report(context, started, f"{loaded.records} records, {loaded.quarantined} quarantined")
    return dg.MaterializeResult(
        metadata={
            "records": loaded.records,
            "quarantined": loaded.quarantined,
            **{f"rows.{table}": n for table, n in sorted(loaded.rows_by_table.items())},
        }
    )


@dg.asset(partitions_def=PARTITIONS, group_name="nightly", deps=[typed_tables])
def voucher_ledger(context: dg.AssetExecutionContext, scf: ScfHome) -> dg.MaterializeResult:
    """The hashed voucher ledger after the night's voucher events and financings are appended
    (rejecting what breaks the invariants of money), with the archive manifest's head,
    verified and checkpointed (signed). A ledger that fails verification stops the night."""
    started = time.perf_counter()
    settings = scf.settings()
    keys = ledger_keys(settings)
    manifest = settings.archive().head()
    with settings.open_warehouse() as warehouse:
        result = append_night(
            warehouse.con,
            business_date_of(context),
            checkpoint_dir=settings.checkpoint_dir,
            signing_key=keys.signer.private_key,
            key_name=keys.signer.name,
            origin=settings.ledger.origin,
            fingerprint_key=keys.fingerprint_key,
            manifest=ArchiveManifest(manifest.lines, manifest.head),
        )
    _report(context, started, f"tree size {result.tree_size}, {result.appended} appended, {result.rejected} rejected")
    return dg.MaterializeResult(
        metadata={"tree_size": result.tree_size, "appended": result.appended, "rejected": result.rejected}
    )


@dg.asset(partitions_def=PARTITIONS, group_name="nightly", deps=[voucher_ledger, dg.AssetKey("data_quality")])
def findings(context: dg.AssetExecutionContext, scf: ScfHome) -> dg.MaterializeResult:
    """The check catalogue run over all nights up to this one: one finding per problem and
    financing implicated, and a verdict (clean, review, blocked) per financing."""
    started = time.perf_counter()
    settings = scf.settings()
    with settings.open_warehouse() as warehouse:
        run = run_catalogue(warehouse.con, business_date_of(context), params=settings.check_params)
    _report(context, started, f"findings {run.findings_by_category}, verdicts {run.verdicts}")
    return dg.MaterializeResult(
        metadata={
            **{f"findings.{k}": v for k, v in run.findings_by_category.items()},
            **{f"verdicts.{k}": v for k, v in run.verdicts.items()},
            **{f"seconds.{k}": round(v, 3) for k, v in run.seconds_by_check.items()},
        }
    )


@dg.asset(partitions_def=PARTITIONS, group_name="nightly", deps=[findings])
def nightly_reports(context: dg.AssetExecutionContext, scf: ScfHome) -> dg.MaterializeResult:
    """The back office's files of the night under ``reports/<date>/``: findings.csv and
    financing_status.csv, exactly as OUTPUTS.md lays them out, and the exception report
    (exceptions.html, sortable and grouped by severity and bank, and exceptions.xlsx)."""
    started = time.perf_counter()
    settings = scf.settings()
    with settings.open_warehouse() as warehouse:
        day = business_date_of(context)
        paths = write_csv_reports(warehouse.con, settings.home, day)
        paths += write_exception_reports(warehouse.con, settings.home, day)
    _report(context, started, f"{len(paths)} report files")
    return dg.MaterializeResult(metadata={"files": [str(p) for p in paths]})


NIGHTLY_ASSETS = [landed_files, typed_tables, voucher_ledger, findings, nightly_reports]
