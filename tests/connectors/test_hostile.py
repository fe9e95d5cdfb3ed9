"""Hostile input and faults (issue 13 §2-§6): each case gets a clear error or a quarantine of the
bad record or file only, and the rest of the night is processed."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.parsers import FileRejected
from connectors.parsers.csvread import MAX_LINE_BYTES, long_lines
from connectors.sftp import SftpSource
from connectors.sources import LocalFolderSource, UnsafeEntry
from foundation.errors import ConfigError
from foundation.values import MAX_AMOUNT_FEN, format_fen, normalise_identifier
from integration.cli import app
from integration.home import CONFIG_TEMPLATE, init_home
from integration.settings import load_settings
from reconciliation.reports import spreadsheet_safe
from tests.conftest import REPO, SAMPLE_NIGHT
from tests.connectors.test_parsers import SAMPLES, _batch, _invoice, parse_bytes
from tests.integration.test_pipeline import query, run_ok

NIGHT = dt.date.fromisoformat(SAMPLE_NIGHT)

_SFTP = """[source]
kind = "sftp"
host = "127.0.0.1"
username = "scf"
key_file = "/keys/id"
known_hosts = "/keys/known_hosts"
"""


def _home_with(tmp_path: Path, toml: str) -> Path:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "scf.toml").write_text(toml, "utf-8")
    return home


# -- one validated configuration (§2) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "names"),
    [
        ('[sourc]\nkind = "local"\n', ["[sourc]", "unknown section"]),
        ('[source]\nkind = "ftp"\n', ["[source] kind", "'ftp'", "local, sftp"]),
        ('[source]\nknd = "local"\n', ["[source] knd", "unknown key"]),
        ('[source]\nkind = "sftp"\nhost = "h"\n', ["[source] username", "missing"]),
        (_SFTP + "port = \"22\"\n", ["[source] port", "must be an integer"]),
        (_SFTP + "port = 70000\n", ["[source] port", "not a TCP port"]),
        ('[source]\ninbox = "/in"\nhost = "h"\n', ["[source] host", "SFTP setting"]),
        ("[checks]\nover_value_tolerance = 5\n", ["[checks] over_value_tolerance", "unknown key"]),
        ('[checks]\nover_value_tolerance_fen = "5"\n', ["[checks] over_value_tolerance_fen", "integer"]),
        ("[checks]\nover_value_tolerance_fen = true\n", ["over_value_tolerance_fen", "an integer, not True"]),
        ('[warehouse]\nmemory_limit = "lots"\n', ["[warehouse] memory_limit", "'lots'"]),
        ('[csv."erp"]\nencoding = "klingon"\n', ['[csv."erp"] encoding', "unknown encoding"]),
        ('[csv."erp"]\ndelimiter = ";;"\n', ['[csv."erp"] delimiter', "one character"]),
        ('[ledger]\norign = "x"\n', ["[ledger] orign", "unknown key"]),
        ("[limits]\nmax_amount_fen = 0\n", ["[limits] max_amount_fen", "between"]),
        ("[limits]\nmax_amount_fen = 100000000000000000\n", ["[limits] max_amount_fen", "between"]),
        ("[checks]\namount_tolerance_ratio_ppm = 1000000\n", ["amount_tolerance_ratio_ppm = 1000000", "overflows"]),
        ("[checks]\namount_tolerance_ratio_ppm = -1\n", ["amount_tolerance_ratio_ppm = -1"]),
        ("source = 3\n", ["[source]", "must be a table"]),
        ("[source\n", ["not valid TOML"]),
    ],
)
def test_bad_configuration_is_refused_at_load_with_file_key_and_reason(tmp_path, toml, names):
    home = _home_with(tmp_path, toml)
    with pytest.raises(ConfigError) as raised:
        load_settings(home)
    message = str(raised.value)
    assert str(home / "scf.toml") in message and "\n" not in message
    for name in names:
        assert name in message


def test_a_valid_configuration_loads_typed(tmp_path, monkeypatch):
    monkeypatch.delenv("SCF_INBOX", raising=False)
    home = _home_with(tmp_path, _SFTP + '[warehouse]\nmemory_limit = "512MiB"\n[limits]\nmax_amount_fen = 500\n')
    settings = load_settings(home)
    assert settings.sftp is not None and settings.sftp.port == 22
    assert (settings.warehouse_memory_limit, settings.max_amount_fen) == ("512MiB", 500)


def test_the_init_template_uncommented_is_a_valid_configuration(tmp_path):
    settings_lines = [
        line[2:] for line in CONFIG_TEMPLATE.splitlines() if line.startswith("# [") or (line.startswith("# ") and " = " in line)
    ]
    settings = load_settings(_home_with(tmp_path, "\n".join(settings_lines) + "\n"))
    assert settings.max_amount_fen == MAX_AMOUNT_FEN and settings.check_params == {"over_value_tolerance_fen": 100}


def test_bad_configuration_stops_scf_run_before_anything_is_landed(tmp_path, sample_inbox, capsys):
    home = _home_with(tmp_path, "[checks]\nover_value_tolerance = 5\n")
    with pytest.raises(SystemExit) as exited:
        app(args=["run", "--date", SAMPLE_NIGHT, "--home", str(home), "--inbox", str(sample_inbox)])
    assert exited.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "[checks] over_value_tolerance" in err[0]
    assert "ConfigError" in (home / "logs" / "scf.log").read_text("utf-8")
    assert not (home / "archive").exists() and not (home / "warehouse.duckdb").exists()


def test_scf_run_honours_an_sftp_source(tmp_path, capsys, monkeypatch):
    """`scf run` takes the configured SFTP source (it used to read <home>/inbox and report an empty
    night): with an unreachable key file, it fails naming the SFTP key."""
    monkeypatch.delenv("SCF_INBOX", raising=False)
    home = _home_with(tmp_path, _SFTP.replace("/keys/id", str(tmp_path / "no-such-key")))
    init_home(home)
    with pytest.raises(SystemExit):
        app(args=["run", "--date", SAMPLE_NIGHT, "--home", str(home)])
    err = capsys.readouterr().err
    assert err.startswith("error: night 2026-11-20 failed: landed_files:") and "no-such-key" in err
    assert len(err.strip().splitlines()) == 1


def test_an_unexpected_failure_is_one_line_naming_the_cause(tmp_path, capsys):
    home = tmp_path / "home"
    init_home(home)
    (home / "warehouse.duckdb").write_text("not a database", "utf-8")
    with pytest.raises(SystemExit):
        app(args=["run", "--date", SAMPLE_NIGHT, "--home", str(home), "--inbox", str(tmp_path / "empty")])
    err = capsys.readouterr().err.strip().splitlines()
    # The night's order is read from the warehouse before the night runs: the corrupt file stops it there.
    assert len(err) == 1 and err[0].startswith("error: ") and "warehouse.duckdb" in err[0]
    assert (home / "logs" / "scf.log").stat().st_size > 0


# -- nothing outside the inbox (§4) ---------------------------------------------------------------


def _night(inbox: Path, day: dt.date = NIGHT) -> Path:
    return inbox / day.isoformat()


def test_a_night_folder_that_is_a_symlink_is_refused(tmp_path):
    outside = tmp_path / "outside"
    (outside / "platform").mkdir(parents=True)
    (outside / "platform" / "financings.csv").write_text("secret", "utf-8")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _night(inbox).symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeEntry, match="symbolic link"):
        LocalFolderSource(inbox).list_night(NIGHT)


def test_a_symlinked_file_is_not_read(tmp_path, sample_inbox):
    secret = tmp_path / "shadow"
    secret.write_text("root:x:0:0", "utf-8")
    (_night(sample_inbox) / "tax" / "evil.xml").symlink_to(secret)
    (_night(sample_inbox) / "bills" / "evil_dir").symlink_to(tmp_path, target_is_directory=True)
    listed = {f.rel_path for f in LocalFolderSource(sample_inbox).list_night(NIGHT)}
    assert "tax/evil.xml" not in listed and not any(p.startswith("bills/evil_dir") for p in listed)
    assert "platform/financings.csv" in listed


@pytest.mark.parametrize("swap", ["file", "folder"])
def test_a_file_swapped_for_a_symlink_after_listing_is_refused_not_followed(tmp_path, sample_inbox, swap):
    source = LocalFolderSource(sample_inbox)
    assert "tax/invoice_status.csv" in {f.rel_path for f in source.list_night(NIGHT)}
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "invoice_status.csv").write_text("root:x:0:0", "utf-8")
    tax = _night(sample_inbox) / "tax"
    if swap == "file":
        (tax / "invoice_status.csv").unlink()
        (tax / "invoice_status.csv").symlink_to(secret / "invoice_status.csv")
    else:
        tax.rename(tmp_path / "tax-away")
        tax.symlink_to(secret, target_is_directory=True)
    with pytest.raises(UnsafeEntry, match="symbolic link"), source.open(NIGHT, "tax/invoice_status.csv"):
        pass


def test_a_fifo_in_the_inbox_is_skipped_without_hanging(sample_inbox):
    os.mkfifo(_night(sample_inbox) / "tax" / "pipe.xml")
    assert "tax/pipe.xml" not in {f.rel_path for f in LocalFolderSource(sample_inbox).list_night(NIGHT)}


# -- a bad file name or night folder costs that file or folder only (§3) --------------------------


def test_bad_file_names_quarantine_that_file_only(tmp_path, sample_inbox):
    night = _night(sample_inbox)
    payload = (night / "tax" / "batch_0001.xml").read_bytes()
    bad = [b"tax/back\\slash.xml", b"tax/bad\xff\xfename.xml", b"tax/per%cent.xml", b"tax/ctl\x01.xml"]
    for n, name in enumerate(bad):
        with open(os.fsencode(night) + b"/" + name, "wb") as out:
            out.write(payload + f"<!-- copy {n} -->".encode())
    home = tmp_path / "home"
    run_ok(home, sample_inbox)
    rows = query(home, "SELECT reason_code FROM quarantine WHERE reason_code = 'BAD_FILE_NAME'")
    assert len(rows) == len(bad)
    files = dict(query(home, "SELECT rel_path, status FROM files"))
    assert sum(status == "rejected" for status in files.values()) == len(bad)
    assert files["platform/financings.csv"] == "loaded" and files["tax/batch_0001.xml"] == "loaded"
    assert all(b"%" in p.encode() for p, s in files.items() if s == "rejected")
    # Nothing lost: each bad-named file's bytes are in the archive.
    assert len(list((home / "archive" / "objects").glob("??/*"))) == len(files)


def test_stray_night_folders_are_reported_and_skipped(tmp_path, sample_inbox):
    (sample_inbox / "notadate").mkdir()
    shutil.copytree(_night(sample_inbox), sample_inbox / "2025-12-31")
    assert LocalFolderSource(sample_inbox).nights() == [dt.date(2025, 12, 31), NIGHT]
    home = tmp_path / "home"
    init_home(home)
    result = CliRunner().invoke(app, ["run", "--all", "--home", str(home), "--inbox", str(sample_inbox)])
    assert result.exit_code == 0, result.output
    assert "skipping night folder 2025-12-31" in result.output
    assert query(home, "SELECT DISTINCT business_date FROM files") == [(NIGHT,)]


def test_a_date_outside_the_nightly_range_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        app(args=["run", "--date", "2025-12-31", "--home", str(tmp_path / "home"), "--inbox", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "2025-12-31: outside the nightly job's dates" in err[0]


# -- the same over SFTP (a real sshd) --------------------------------------------------------------


@pytest.mark.sftp
def test_sftp_refuses_links_and_keeps_bad_names(sshd_server, tmp_path, sample_inbox):  # noqa: F811
    night = _night(sample_inbox)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "shadow").write_text("root:x:0:0", "utf-8")
    (night / "tax" / "evil.xml").symlink_to(secret / "shadow")
    with open(os.fsencode(night) + b"/tax/bad\xffname.xml", "wb") as out:
        out.write(b"<x/>")
    linked_night = dt.date(2026, 11, 21)
    _night(sample_inbox, linked_night).symlink_to(secret, target_is_directory=True)
    (tmp_path / "known_hosts").write_text(sshd_server.known_hosts_line())
    with SftpSource(
        sshd_server.host, sshd_server.port, sshd_server.username, sshd_server.client_keys["ed25519"],
        tmp_path / "known_hosts", str(sample_inbox), connect_timeout=5,
    ) as remote:  # fmt: skip
        listed = remote.list_night(NIGHT)
        assert listed == LocalFolderSource(sample_inbox).list_night(NIGHT)
        paths = {f.rel_path for f in listed}
        assert "tax/bad%FFname.xml" in paths and "tax/evil.xml" not in paths
        with remote.open(NIGHT, "tax/bad%FFname.xml") as stream:
            assert stream.read() == b"<x/>"
        with pytest.raises(UnsafeEntry, match="symbolic link"):
            remote.list_night(linked_night)
        (night / "tax" / "invoice_status.csv").unlink()
        (night / "tax" / "invoice_status.csv").symlink_to(secret / "shadow")
        with pytest.raises(UnsafeEntry, match="symbolic link"), remote.open(NIGHT, "tax/invoice_status.csv"):
            pass


# -- a bad record stays one bad record (§3) -------------------------------------------------------


def _append_rows(path: Path, *rows: str) -> None:
    text = path.read_text("utf-8")
    path.write_text(text.rstrip("\n") + "\n" + "\n".join(rows) + "\n", "utf-8")


def test_long_lines_are_found_across_chunks(tmp_path):
    path = tmp_path / "x.csv"
    big = MAX_LINE_BYTES + 10
    path.write_bytes(b"h\n" + b"a" * 3 + b"\n" + b"b" * (3 * big) + b"\nc\n" + b"d" * big + b"\n" + b"e" * big)
    assert long_lines(path) == [3, 5, 6]


def test_a_csv_line_over_the_block_size_quarantines_that_line_only(tmp_path, sample_inbox):
    financings = _night(sample_inbox) / "platform" / "financings.csv"
    rows_before = len(financings.read_text("utf-8").strip().splitlines()) - 1
    _append_rows(financings, "F-HUGE," + "x" * (3 * 2**20))
    home = tmp_path / "home"
    run_ok(home, sample_inbox)
    quarantined = query(home, "SELECT src_pos, reason_code FROM quarantine WHERE src_path = 'platform/financings.csv'")
    assert quarantined == [(rows_before + 2, "LINE_TOO_LONG")]
    assert query(home, "SELECT count(*) FROM financings") == [(rows_before,)]


_BILL_REF = "731352100001120261101000000123"


def test_absurd_values_quarantine_their_record_only(tmp_path, sample_inbox):
    night = _night(sample_inbox)
    _append_rows(
        night / "platform" / "financings.csv",
        f"F-RANGE,313521000011,BILL,91320500MA1X000024,91440300MA5F00001A,{_BILL_REF}:1-{'9' * 25},,1.00,1.00,"
        "0.02,2026-11-20,2027-04-30,ACTIVE",
        "F-ABSURD,313521000011,VOUCHER,91320500MA1X000024,91440300MA5F00001A,V3f9a1c2b4d5e6f71,,"
        "100000000000.01,1.00,0.02,2026-11-20,2027-04-30,ACTIVE",
        "F-\x00NUL,313521000011,VOUCHER,91320500MA1X000024,91440300MA5F00001A,V3f9a1c2b4d5e6f71,,1.00,1.00,0.02,"
        "2026-11-20,2027-04-30,ACTIVE",
    )
    invoice = night / "tax" / "26320000000000012345.xml"
    invoice.write_text(invoice.read_text("utf-8").replace(">113000.00<", ">99999999999999999999.00<", 1), "utf-8")
    home = tmp_path / "home"
    run_ok(home, sample_inbox)  # the findings step runs: no overflow
    bad = query(home, "SELECT src_path, reason_code, reason FROM quarantine ORDER BY src_path, src_pos")
    assert [(path, code) for path, code, _ in bad] == [
        ("platform/financings.csv", "BAD_VALUE"),
        ("platform/financings.csv", "BAD_VALUE"),
        ("platform/financings.csv", "BAD_ID"),  # financing_id is an identifier: the one rule refuses it
        ("tax/26320000000000012345.xml", "BAD_VALUE"),
    ]
    assert "plausibility ceiling" in bad[0][2] and "control character U+0000" in bad[2][2]
    assert query(home, "SELECT count(*) FROM financings") == [(2,)]
    assert query(home, "SELECT count(*) FROM tax_invoices")[0][0] >= 1
    for report in (home / "reports").rglob("*.csv"):
        assert "\x00" not in report.read_text("utf-8")


def test_the_checks_cannot_overflow_on_amounts_at_the_ceiling(tmp_path, sample_inbox):
    """Every money amount of the night at the plausibility ceiling (10^13 fen): the night completes."""
    ceiling = format_fen(MAX_AMOUNT_FEN)
    night = _night(sample_inbox)
    for path in night.rglob("*"):
        if path.suffix in (".csv", ".xml"):
            text = re.sub(r"(?<![0-9.])[0-9]+\.[0-9]{2}(?![0-9])", ceiling, path.read_text("utf-8"))
            path.write_text(text.replace("1-5000000", f"1-{MAX_AMOUNT_FEN}"), "utf-8")
    home = tmp_path / "home"
    run_ok(home, sample_inbox)
    assert query(home, "SELECT count(*) FROM financings WHERE face_amount_fen = ?", MAX_AMOUNT_FEN) == [(2,)]
    assert query(home, "SELECT count(*) FROM tax_invoices WHERE total_fen = ?", MAX_AMOUNT_FEN)[0][0] >= 1
    assert query(home, "SELECT count(*) FROM financing_verdicts") == [(2,)]


# -- smaller (§6) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("-2+3", "'-2+3"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-1234.56", "-1234.56"),
        ("F2026", "F2026"),
        ("", ""),
    ],
)
def test_spreadsheet_cells_are_neutralised(text, shown):
    assert spreadsheet_safe(text) == shown


def test_formula_payloads_reach_no_report_raw(tmp_path, sample_inbox):
    _append_rows(  # no inner space in the USCC columns: the identifier rule would refuse one
        _night(sample_inbox) / "platform" / "financings.csv",
        "@SUM(1+1),313521000011,VOUCHER,\"=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",+cmd|'/C:calc'!A0,"
        "V3f9a1c2b4d5e6f71,,1.00,1.00,0.02,2026-11-20,2027-04-30,ACTIVE",
    )
    home = tmp_path / "home"
    run_ok(home, sample_inbox)
    folder = home / "reports" / SAMPLE_NIGHT
    with (folder / "financing_status.csv").open(encoding="utf-8", newline="") as handle:
        rows = {r["financing_id"]: r for r in csv.DictReader(handle)}
    row = rows["'@SUM(1+1)"]
    assert row["applicant_uscc"] == '\'=HYPERLINK("http://evil","x")' and row["debtor_uscc"] == "'+cmd|'/C:calc'!A0"
    for name in ("findings.csv", "financing_status.csv"):
        for line in csv.reader((folder / name).open(encoding="utf-8", newline="")):
            assert not any(cell.startswith(("=", "+", "@")) for cell in line)
    with zipfile.ZipFile(folder / "exceptions.xlsx") as book:
        strings = book.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in book.namelist() else ""
        sheets = "".join(book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/"))
    assert "'@SUM(1+1)" in strings + sheets and ">@SUM(1+1)" not in strings + sheets


def test_parse_workers_die_with_a_killed_run(tmp_path):
    script = tmp_path / "night.py"
    script.write_text(
        "import os, time\n"
        "from connectors.loader import _executor\n"
        "if __name__ == '__main__':\n"
        "    with _executor(2, 1 << 40) as pool:\n"
        "        pids = {pool.submit(os.getpid).result() for _ in range(8)}\n"
        "        print(' '.join(map(str, pids)), flush=True)\n"
        "        pool.submit(time.sleep, 600)\n"
        "        time.sleep(600)\n",
        "utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    night = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        workers = [int(pid) for pid in night.stdout.readline().split()]
        assert workers and all(_alive(pid) for pid in workers)
    finally:
        night.kill()  # SIGKILL: no cleanup code runs in the parent
        night.wait()
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_runs_spool_folders_and_part_files_are_cleaned_by_the_next_run(tmp_path, sample_inbox):
    home = tmp_path / "it's home"  # an apostrophe: no path is pasted into SQL
    run_ok(home, sample_inbox)
    (home / "spool-killed").mkdir()
    (home / "spool-killed" / "x.arrow").write_bytes(b"half")
    (home / "reports" / "2026-11-19").mkdir()
    (home / "reports" / "2026-11-19" / "findings.csv.part").write_text("half", "utf-8")
    (home / "reports" / SAMPLE_NIGHT / "exceptions.xlsx.part").write_text("half", "utf-8")
    run_ok(home, sample_inbox)
    assert not list(home.glob("spool-*")) and not list((home / "reports").rglob("*.part"))
    assert (home / "reports" / SAMPLE_NIGHT / "financing_status.csv").exists()


# -- the XML defences that held (keep them) ---------------------------------------------------------


def _laughs() -> str:
    entities = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    doctype = f'<?xml version="1.0"?><!DOCTYPE EInvoiceBatch [{"".join(entities)}]>'
    return doctype + "<EInvoiceBatch>" + _invoice(extra="<Remark>&l9;</Remark>") + "</EInvoiceBatch>"


def _hostile_xml(tmp_path: Path) -> dict[str, str]:
    secret = tmp_path / "secret.txt"
    secret.write_text("26320000000000000001", "utf-8")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY e SYSTEM "file://{secret}">', "utf-8")
    return {
        "xxe": f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>' + _invoice("&e;"),
        "billion_laughs": _laughs(),
        "external_dtd": f'<?xml version="1.0"?><!DOCTYPE EInvoice SYSTEM "file://{dtd}">' + _invoice("&e;"),
        "huge_node": _batch(_invoice(extra=f"<Remark>{'x' * (11 * 2**20)}</Remark>")),
        "deep_nesting": _batch(_invoice(extra="<a>" * 300_000 + "</a>" * 300_000)),
    }


@pytest.mark.parametrize("case", ["xxe", "billion_laughs", "external_dtd", "huge_node", "deep_nesting"])
def test_xml_attacks_are_refused_without_reading_or_blowing_up(tmp_path, case):
    started = time.monotonic()
    with pytest.raises(FileRejected) as rejected:
        parse_bytes(tmp_path, f"tax/{case}.xml", _hostile_xml(tmp_path)[case])
    assert rejected.value.reason_code == "MALFORMED_XML" and "26320000000000000001" not in rejected.value.reason
    assert time.monotonic() - started < 20


def test_xml_attacks_cost_their_file_only(tmp_path, sample_inbox):
    for case, text in _hostile_xml(tmp_path).items():
        (_night(sample_inbox) / "tax" / f"{case}.xml").write_text(text, "utf-8")
    home = tmp_path / "home"
    run_ok(home, sample_inbox)
    files = dict(query(home, "SELECT rel_path, status FROM files"))
    assert files["tax/batch_0001.xml"] == "loaded" and files["platform/financings.csv"] == "loaded"
    assert query(home, "SELECT count(*) FROM tax_invoices WHERE invoice_no = '26320000000000000001'") == [(0,)]
    assert query(home, "SELECT count(*) FROM financing_verdicts") == [(2,)]


# -- one normalisation rule for identifiers (issue 9 §4) ----------------------------------------


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" or "A" <= c <= "Z" else c for c in text)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("２６３２０００００", "263200000"),
        ("\u3000 V3F9A1 \t", "V3F9A1"),
        ("ＶＡＢＣ", "VABC"),
        ("", None),
        ("   ", None),
    ],
)
def test_normalise_identifier(raw, normalised):
    assert normalise_identifier(raw) == normalised


@pytest.mark.parametrize("raw", ["2632 0000", "2632\u30000000", "26\x0032", "26\n32", "26\u200b32", "26\ufeff32"])
def test_an_identifier_with_inner_space_or_control_is_refused(raw):
    with pytest.raises(ValueError, match="whitespace or a control character"):
        normalise_identifier(raw)


def test_full_width_and_spaced_identifiers_are_treated_alike_in_every_column(tmp_path):
    """The same full-width digits are normalised in asset_ref and invoice_nos (the issue's case:
    one column refused them, the other took them raw); an inner space is refused in both."""
    rel = "platform/financings.csv"
    header, first, second = (SAMPLES / rel).read_text("utf-8").strip().splitlines()
    invoice_ref = "26320000000000023456"
    wide = first.replace("V3f9a1c2b4d5e6f71", _full_width("V3f9a1c2b4d5e6f71").replace("ｆ", "f"))
    wide = wide.replace(invoice_ref, _full_width(invoice_ref))
    spaced_asset = second.replace("731352100001120261101000000123", "7313521000011 20261101000000123")
    spaced_invoice = second.replace("F202611200002", "F-SPACED").replace("26320000000000034567", "2632000000 0000034567")
    sink = parse_bytes(tmp_path, rel, "\n".join([header, wide, spaced_asset, spaced_invoice]) + "\n")
    [row] = sink.table("financings")
    assert row["asset_voucher_id"] == "V3f9a1c2b4d5e6f71"
    assert sink.table("financing_invoices")[0]["invoice_no"] == invoice_ref
    assert [code for _, code in sink.codes()] == ["BAD_ID", "BAD_VALUE"]
    assert all("whitespace" in reason for _, _, reason, _ in sink.quarantined)


def test_full_width_identifiers_in_xml_are_normalised(tmp_path):
    wide = _full_width("26320000000000099999")
    [invoice] = parse_bytes(tmp_path, "tax/w.xml", _batch(_invoice(wide))).table("tax_invoices")
    assert invoice["invoice_no"] == "26320000000000099999"


def test_scf_ledger_resolves_its_configuration_from_the_same_settings(tmp_path, sample_inbox):
    home = _home_with(
        tmp_path,
        '[ledger]\norigin = "bank-a.example/ledger"\nkey_name = "bank-a"\nsigning_key_file = "keys/log.pem"\n',
    )
    run_ok(home, sample_inbox)
    assert (home / "keys" / "log.pem").exists()
    verified = CliRunner().invoke(app, ["ledger", "verify", "--home", str(home)])
    assert verified.exit_code == 0, verified.output
    (home / "scf.toml").write_text('[ledger]\norign = "x"\n', "utf-8")
    broken = CliRunner().invoke(app, ["ledger", "verify", "--home", str(home)])
    assert isinstance(broken.exception, ConfigError) and "[ledger] orign" in str(broken.exception)


def test_a_symlinked_night_stops_scf_run_with_one_line(tmp_path, sample_inbox, capsys):
    inbox = tmp_path / "inbox2"
    inbox.mkdir()
    _night(inbox).symlink_to(_night(sample_inbox), target_is_directory=True)
    home = tmp_path / "home"
    init_home(home)
    with pytest.raises(SystemExit):
        app(args=["run", "--date", SAMPLE_NIGHT, "--home", str(home), "--inbox", str(inbox)])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a symbolic link: refused" in err[0]
    assert err[0].startswith(f"error: night {SAMPLE_NIGHT} failed: landed_files: local:")  # no class name
    assert not (home / "archive" / "objects").exists()


def test_the_configured_amount_ceiling_is_applied(tmp_path, sample_inbox):
    home = _home_with(tmp_path, "[limits]\nmax_amount_fen = 4000000\n")  # 40,000 yuan
    run_ok(home, sample_inbox)
    refused = query(home, "SELECT src_path, reason FROM quarantine WHERE src_path = 'platform/financings.csv'")
    assert len(refused) == 1 and "beyond the plausibility ceiling of 40000.00" in refused[0][1]
    assert query(home, "SELECT financing_id FROM financings") == [("F202611200001",)]
