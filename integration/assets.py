"""The nightly job's assets, one partition per business date.

landed_files → typed_tables → data_quality → voucher_ledger → findings → nightly_reports

The warehouse is the storage of every asset: assets return only metadata, and each step
reads what the previous one wrote.  Every asset replaces its own output for the night,
so a re-run of a partition gives the same result.
"""


import datetime as dt
import inspect
import logging
import time
from collections.abc import Iterator
from contextvars import ContextVar

import dagster as dg

from connectors.loader import FileOutcome, load_night, warm_parse_workers
from connectors.sources import RemoteFile
from dispositions.effective import sync_trail
from foundation.errors import ScfError
from foundation.vocabulary import DeliveryStatus
from integration import nights, quality_assets
from integration.audit import night_gate
from integration.home import ledger_keys
from integration.pool_jobs import pool_surveillance
from integration.progress import DagsterRenderer, rendered_by, stage
from integration.resources import ScfHome
from ledger.entries import ArchiveManifest
from ledger.nightly import append_night
from ledger.touched import forget_progress
from reconciliation.catalogue import CHECKS, default_params
from reconciliation.findings import run_catalogue
from reconciliation.reports import CSV_REPORT_FILES, write_csv_reports
from worklist.exception_report import EXCEPTION_REPORT_FILES, write_exception_reports

progress = logging.getLogger("scf.progress")
_step: ContextVar[str] = ContextVar("step")  # the asset of the night being computed


class NightStepError(ScfError):
    """A step of the night failed: ``<asset>: <original error>``."""


def nightly_partitions(first_night: dt.date) -> dg.DailyPartitionsDefinition:
    """One partition per business date from the go-live night to the last one that is over
    in Asia/Shanghai (tomorrow's unfinished night is never offered)."""
    return dg.DailyPartitionsDefinition(start_date=first_night.isoformat(), timezone=nights.BUSINESS_TZ.key, end_offset=0)


def business_date_of(context: dg.AssetExecutionContext) -> dt.date:
    """The business date of the partition being materialized."""
    return dt.date.fromisoformat(context.partition_key)


def _report(context: dg.AssetExecutionContext, started: float, message: str) -> None:
    """Log an asset's outcome to Dagster and to ``scf.progress`` (with ``asset`` and ``seconds``)."""
    asset, seconds = _step.get(), time.perf_counter() - started
    line = f"{asset}: {message} ({seconds:.1f} s)"
    context.log.info(line)
    progress.info(line, extra={"asset": asset, "seconds": seconds})


def landed_files(context: dg.AssetExecutionContext, scf: ScfHome) -> dg.MaterializeResult:
    """The night's delivery, pulled from the inbox (local folder or SFTP) into the immutable,
    content-addressed archive. Re-delivered bytes are archived once; a restated file is kept
    beside its earlier version and wins. Nothing is landed unless the home's keys, archive
    manifest and ledger index verify first; every object of the night's set is hashed as it
    lands or re-hashed (older nights' objects: ``scf verify``)."""
    started = time.perf_counter()
    day = business_date_of(context)
    settings = scf.settings()
    for line in night_gate(settings).lines:
        context.log.info(f"verified before landing: {line}")
    source = settings.source()
    landed_bytes = 0
    try:
        with stage("landed_files", unit="files") as files, stage("landed_files", unit="bytes") as size:

            def landed(remote: RemoteFile) -> None:
                nonlocal landed_bytes
                files.advance()
                size.advance(remote.size)
                landed_bytes += remote.size
                warm_parse_workers(landed_bytes)  # a large night: typed_tables' parse workers start at once

            night = settings.archive().land_night(source, day, on_file=landed)
    finally:
        source.close()
    statuses = {s.value: sum(1 for f in night.files if f.status == s) for s in DeliveryStatus}
    _report(context, started, f"{len(night.files)} files landed {statuses}")
    return dg.MaterializeResult(metadata={"files": len(night.files), **statuses})


def typed_tables(context: dg.AssetExecutionContext, scf: ScfHome) -> dg.MaterializeResult:
    """Every landed file of the night parsed into the warehouse's typed tables (replacing the
    night's earlier rows); records that break the format, and files that cannot be parsed,
    quarantined with file, position and reason."""
    started = time.perf_counter()
    day = business_date_of(context)
    settings = scf.settings()
    night = settings.archive().night_manifest(day)
    with (
        settings.open_warehouse() as warehouse,
        stage("typed_tables", total=len(night.files), unit="files") as files,
        stage("typed_tables", unit="rows") as rows,
    ):

        def loaded_file(outcome: FileOutcome) -> None:
            files.advance()
            rows.advance(outcome.rows)

        loaded = load_night(
            warehouse, day, night.files, csv_override=settings.csv_override, max_amount_fen=settings.max_amount_fen,
            on_file=loaded_file,
        )
    _report(context, started, f"{loaded.records} records, {loaded.quarantined} quarantined")
    return dg.MaterializeResult(
        metadata={
            "records": loaded.records,
            "quarantined": loaded.quarantined,
            **{f"seconds.{k}": round(v, 3) for k, v in loaded.seconds.items()},
            **{f"rows.{table}": n for table, n in sorted(loaded.rows_by_table.items())},
        }
    )


def data_quality(context: dg.AssetExecutionContext, scf: ScfHome) -> dg.MaterializeResult:
    """Tonight's data quality for compliance: the sources against the registry (missing, empty,
    schema drift, quarantine rate, volume), the GX suites over every typed table (results in
    dq_results), and under reports/<date>/ the Data Docs site and the data_quality scorecard.
    A blocking issue holds the night's reports."""
    started = time.perf_counter()
    night = quality_assets.measure_night(context, scf)
    _report(context, started, f"{len(night.issues)} source issues ({len(night.blocking)} blocking), "
                              f"{night.validation.failed} of {night.validation.results} expectations failed")
    return dg.MaterializeResult(metadata=quality_assets.quality_metadata(night))


def voucher_ledger(context: dg.AssetExecutionContext, scf: ScfHome) -> dg.MaterializeResult:
    """The hashed voucher ledger after the night's voucher events and financings are appended
    (rejecting what breaks the invariants of money), with the archive manifest's head,
    verified and checkpointed (signed). A ledger that fails verification stops the night."""
    started = time.perf_counter()
    settings = scf.settings()
    keys = ledger_keys(settings)
    manifest = settings.archive().head()
    with (
        settings.open_warehouse() as warehouse,
        stage("voucher_ledger", unit="entries") as entries,
        stage("voucher_ledger", unit="verified") as verified,
    ):
        if scf.full:
            forget_progress(warehouse.con)
        result = append_night(
            warehouse.con,
            business_date_of(context),
            checkpoint_dir=settings.checkpoint_dir,
            signing_key=keys.signer.private_key,
            key_name=keys.signer.name,
            origin=settings.ledger.origin,
            fingerprint_key=keys.fingerprint_key,
            evidence_window_days=int({**default_params(), **settings.check_params}["evidence_window_days"]),
            manifest=ArchiveManifest(manifest.lines, manifest.head),
            on_appended=entries.advance,
            on_verified=verified.advance,
        )
    _report(context, started, f"tree size {result.tree_size}, {result.appended} appended, {result.rejected} rejected")
    return dg.MaterializeResult(
        metadata={"tree_size": result.tree_size, "appended": result.appended, "rejected": result.rejected}
    )


def findings(context: dg.AssetExecutionContext, scf: ScfHome) -> dg.MaterializeResult:
    """The check catalogue run over all nights up to this one: one finding per problem and
    financing implicated, and a verdict (clean, review, blocked) per financing."""
    started = time.perf_counter()
    settings = scf.settings()
    with settings.open_warehouse() as warehouse, stage("findings", total=len(CHECKS), unit="checks") as checks:
        sync_trail(warehouse.con, settings.home)  # the clerks' dispositions, verified, before the verdicts
        run = run_catalogue(
            warehouse.con, business_date_of(context), params=settings.check_params, on_check=lambda _: checks.advance(),
            full=scf.full, judge=scf.judge(),
        )
        scf.write_store(warehouse.con, business_date_of(context))
    scope = str(run.scope) if run.scope else "every financing judged (another engine)"
    _report(context, started, f"findings {run.findings_by_category}, verdicts {run.verdicts}; as-of state {run.asof_build}; "
                              f"{scope}")
    return dg.MaterializeResult(
        metadata={
            "asof_state": run.asof_build,
            "scope": scope,
            **{f"findings.{k}": v for k, v in run.findings_by_category.items()},
            **{f"verdicts.{k}": v for k, v in run.verdicts.items()},
            **{f"stored.{k}": v for k, v in run.stored.items()},
            **{f"seconds.{k}": round(v, 3) for k, v in run.seconds_by_check.items()},
        }
    )


def nightly_reports(context: dg.AssetExecutionContext, scf: ScfHome) -> dg.MaterializeResult:
    """The back office's files of the night under ``reports/<date>/``: findings.csv and
    financing_status.csv, exactly as OUTPUTS.md lays them out, and the exception report
    (exceptions.html, sortable and grouped by severity and bank, and exceptions.xlsx)."""
    started = time.perf_counter()
    settings = scf.settings()
    with (settings.open_warehouse() as warehouse,
          stage("nightly_reports", total=CSV_REPORT_FILES + EXCEPTION_REPORT_FILES, unit="files") as files):
        day = business_date_of(context)
        quality_assets.hold_if_blocked(warehouse.con, day)
        paths = write_csv_reports(warehouse.con, settings.home, day, lambda path: files.advance())
        paths += write_exception_reports(warehouse.con, settings.home, day, lambda path: files.advance())
    _report(context, started, f"{len(paths)} report files")
    return dg.MaterializeResult(metadata={"files": [str(p) for p in paths]})


STEPS = (landed_files, typed_tables, data_quality, voucher_ledger, findings, nightly_reports, pool_surveillance)


def _ensure_in_order(context: dg.AssetExecutionContext, scf: ScfHome, day: dt.date) -> None:
    """Record the night's run in ``night_runs``; refuse it if an earlier night has not succeeded."""
    settings = scf.settings()
    with settings.open_warehouse() as warehouse:
        nights.record_start(warehouse.con, day, context.run.run_id, scf.config_hash())
        runs = nights.latest_runs(warehouse.con)
    nights.plan(day, nights.nights_for_order(settings), runs, settings.first_night, catch_up=False)


def _checks_after(step_name: str, scf: ScfHome, day: dt.date) -> list[dg.AssetCheckResult]:
    """The asset checks a step of the night decides (integration/quality_assets.py)."""
    if step_name == "data_quality":
        with scf.settings().open_warehouse() as warehouse:
            return quality_assets.quality_check_results(warehouse.con, day)
    if step_name == "voucher_ledger":
        return list(filter(None, [quality_assets.integrity_check_result(None)]))
    return []


def _record_failure(scf: ScfHome, run_id: str, cause: str) -> None:
    """Record the run as failed, if the warehouse can be opened (the alert names the cause anyway)."""
    try:
        with scf.settings().open_warehouse() as warehouse:
            nights.record_end(warehouse.con, run_id, nights.FAILED, cause)
    except Exception:  # the warehouse itself may be what failed, or held by another night
        progress.exception("could not record the failure of run %s in night_runs", run_id)


def nightly_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The night's six assets on ``partitions``, computed by one step, in order, as one unit.

    A night is all or nothing: its six assets are materialized together once every step has
    succeeded. Each asset of a night depends on the same asset of the night before, and a
    backfill takes one night per run: Dagster's backfill launches each night only after the
    one before has succeeded (and the run queue, limited to one nightly run, runs one at a time)."""
    # Only the self-dependencies are declared: Dagster 1.13's backfill cannot launch a
    # non-subsettable multi-asset whose keys also depend on each other one partition at a time.
    previous_night = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
    specs = [
        dg.AssetSpec(step.__name__, description=inspect.getdoc(step), group_name="nightly",
                     deps=[dg.AssetDep(step.__name__, partition_mapping=previous_night)])
        for step in STEPS
    ]

    @dg.multi_asset(specs=specs, partitions_def=partitions, can_subset=False, name="night",
                    check_specs=quality_assets.night_check_specs(partitions),
                    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1))
    def night(context: dg.AssetExecutionContext, scf: ScfHome) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        """Land, parse, ledger, reconcile and report one business date, in that order; the
        night runs only once every earlier night has succeeded (docs/OPERATIONS.md)."""
        day, run_id = business_date_of(context), context.run.run_id
        results: list[dg.MaterializeResult] = []
        step_name = "order"
        checks: list[dg.AssetCheckResult] = []  # the night's asset checks, shown even when the night fails
        try:
            with scf.night_lock(), rendered_by(DagsterRenderer(context.log)) as shown:
                _ensure_in_order(context, scf, day)
                for step in STEPS:
                    step_name = step.__name__
                    token = _step.set(step_name)
                    try:
                        metadata = {**(step(context, scf).metadata or {}), **shown.metadata(step_name)}
                        results.append(dg.MaterializeResult(asset_key=step_name, metadata=metadata))
                    finally:
                        _step.reset(token)
                    checks += _checks_after(step_name, scf, day)
                with scf.settings().open_warehouse() as warehouse:
                    nights.record_end(warehouse.con, run_id, nights.SUCCEEDED)
        except Exception as error:
            _record_failure(scf, run_id, f"{step_name}: {error}")
            yield from [*checks, *quality_assets.failure_check_results(scf, day, error)]
            raise NightStepError(f"{step_name}: {error}") from error
        yield from results
        yield from checks

    return [night]
