"""The SFTP source against a real OpenSSH sshd on loopback (see tests/sshd.py)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import socket
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization

from connectors.archive import Archive
from connectors.sftp import HostKeyRejected, SftpAuthFailed, SftpError, SftpSource
from connectors.sources import LocalFolderSource, RemoteFile
from tests.sshd import SshdServer, write_private_key

pytestmark = pytest.mark.sftp

D1 = dt.date(2024, 3, 1)


def fingerprint(public_key_line: str) -> str:
    """OpenSSH's SHA256 fingerprint of a public key line, computed independently of paramiko."""
    blob = base64.b64decode(public_key_line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def known_hosts(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def sftp_source(server: SshdServer, known_hosts_path: Path, root: Path, key: Path | None = None) -> SftpSource:
    return SftpSource(
        server.host,
        server.port,
        server.username,
        key or server.client_keys["ed25519"],
        known_hosts_path,
        str(root),
        connect_timeout=5,
    )


@pytest.fixture
def pinned(sshd_server: SshdServer, tmp_path: Path) -> Path:
    return known_hosts(tmp_path / "known_hosts", sshd_server.known_hosts_line())


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """A night with nested folders, a non-ASCII name, an empty file, a multi-MiB file, and clutter."""
    night = tmp_path / "inbox" / D1.isoformat()
    files = {
        "erp/91310000MA1FL1MMXL/vendors.csv": "LIFNR|NAME1|STCD5\n0001|上海甲公司|91310000MA1FL1MMXL\n".encode(),
        "tax/发票_001.xml": b"<EInvoice><Header><EIid>24312000000000000001</EIid></Header></EInvoice>",
        "tax/empty.xml": b"",
        "bills/batch.xml": os.urandom(3 * 1024 * 1024 + 17),  # several chunks and prefetch windows
        "tax/upload.xml.part": b"half",
        ".hidden": b"x",
    }
    for rel_path, data in files.items():
        (night / rel_path).parent.mkdir(parents=True, exist_ok=True)
        (night / rel_path).write_bytes(data)
    (tmp_path / "inbox" / "2024-03-05").mkdir()
    (tmp_path / "inbox" / "not-a-night").mkdir()
    return tmp_path / "inbox"


def test_lands_a_night_over_sftp_with_the_bytes_of_the_folder(
    sshd_server: SshdServer, pinned: Path, inbox: Path, tmp_path: Path
) -> None:
    local = LocalFolderSource(inbox)
    with sftp_source(sshd_server, pinned, inbox) as remote:
        assert remote.nights() == [D1, dt.date(2024, 3, 5)]
        listed = remote.list_night(D1)
        assert listed == local.list_night(D1)
        assert [f.rel_path for f in listed] == [
            "bills/batch.xml",
            "erp/91310000MA1FL1MMXL/vendors.csv",
            "tax/empty.xml",
            "tax/发票_001.xml",
        ]
        over_sftp = Archive(tmp_path / "sftp_archive").land_night(remote, D1)
        assert remote.list_night(dt.date(2024, 3, 9)) == []  # no folder: no delivery

    from_folder = Archive(tmp_path / "local_archive").land_night(local, D1)
    assert [(f.rel_path, f.sha256, f.size, f.status) for f in over_sftp.files] == [
        (f.rel_path, f.sha256, f.size, f.status) for f in from_folder.files
    ]
    for landed in over_sftp.files:
        assert landed.object_path.read_bytes() == (inbox / D1.isoformat() / landed.rel_path).read_bytes()


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_each_key_type_authenticates(sshd_server: SshdServer, pinned: Path, inbox: Path, kind: str) -> None:
    with sftp_source(sshd_server, pinned, inbox, sshd_server.client_keys[kind]) as remote, \
            remote.open(D1, "erp/91310000MA1FL1MMXL/vendors.csv") as stream:
        assert stream.read().startswith(b"LIFNR|")


def test_hashed_known_hosts_entry_is_honoured(sshd_server: SshdServer, tmp_path: Path, inbox: Path) -> None:
    hashed_name = paramiko.HostKeys.hash_host(f"[{sshd_server.host}]:{sshd_server.port}")
    path = known_hosts(tmp_path / "known_hosts", f"{hashed_name} {sshd_server.host_public_key}\n")

    with sftp_source(sshd_server, path, inbox) as remote:
        assert remote.list_night(D1)[0] == RemoteFile("bills/batch.xml", 3 * 1024 * 1024 + 17)


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param("", id="empty-known-hosts"),
        pytest.param("{host} {key}\n", id="entry-without-the-port"),
        pytest.param("[{host}]:1 {key}\n", id="entry-for-another-port"),
    ],
)
def test_unknown_host_key_is_refused(sshd_server: SshdServer, tmp_path: Path, inbox: Path, entry: str) -> None:
    text = entry.format(host=sshd_server.host, key=sshd_server.host_public_key)
    source = sftp_source(sshd_server, known_hosts(tmp_path / "known_hosts", text), inbox)

    with pytest.raises(HostKeyRejected) as refused:
        source.nights()

    message = str(refused.value)
    assert f"{sshd_server.host}:{sshd_server.port}" in message
    assert fingerprint(sshd_server.host_public_key) in message
    assert "not trusted" in message and "holds no key" in message
    assert refused.value.offered_fingerprint == fingerprint(sshd_server.host_public_key)
    assert refused.value.expected_fingerprint is None


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa"])
def test_changed_host_key_is_refused(
    sshd_server: SshdServer, tmp_path: Path, inbox: Path, kind: str
) -> None:
    impostor = write_private_key(kind, tmp_path / "other_host_key")
    source = sftp_source(
        sshd_server, known_hosts(tmp_path / "known_hosts", sshd_server.known_hosts_line(impostor)), inbox
    )

    with pytest.raises(HostKeyRejected) as refused:
        source.list_night(D1)

    message = str(refused.value)
    assert f"{sshd_server.host}:{sshd_server.port}" in message
    assert fingerprint(sshd_server.host_public_key) in message
    assert fingerprint(impostor) in message
    assert "not trusted" in message and "changed" in message
    assert refused.value.expected_fingerprint == fingerprint(impostor)


def test_unknown_client_key_is_refused(sshd_server: SshdServer, pinned: Path, inbox: Path) -> None:
    source = sftp_source(sshd_server, pinned, inbox, sshd_server.unauthorized_key)

    with pytest.raises(SftpAuthFailed, match=f"refused user '{sshd_server.username}' with key "):
        source.nights()


def test_missing_known_hosts_file_is_a_clear_error(sshd_server: SshdServer, tmp_path: Path, inbox: Path) -> None:
    source = sftp_source(sshd_server, tmp_path / "no_such_known_hosts", inbox)

    with pytest.raises(SftpError, match="cannot read known_hosts file"):
        source.connect()


def test_unusable_client_key_files_are_clear_errors(sshd_server: SshdServer, pinned: Path, tmp_path: Path) -> None:
    encrypted = tmp_path / "encrypted_key"
    encrypted.write_bytes(
        serialization.load_ssh_private_key(sshd_server.client_keys["ed25519"].read_bytes(), None).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    public_only = tmp_path / "public_only"
    public_only.write_text(sshd_server.host_public_key)

    with pytest.raises(SftpError, match="is encrypted; give an unencrypted key file"):
        sftp_source(sshd_server, pinned, tmp_path, encrypted).connect()
    with pytest.raises(SftpError, match="is not an Ed25519, ECDSA or RSA private key"):
        sftp_source(sshd_server, pinned, tmp_path, public_only).connect()
    with pytest.raises(SftpError, match="cannot read SFTP client key"):
        sftp_source(sshd_server, pinned, tmp_path, tmp_path / "no_such_key").connect()


def test_nothing_listening_is_a_clear_error(sshd_server: SshdServer, pinned: Path, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind((sshd_server.host, 0))
        closed_port = sock.getsockname()[1]  # bound, never listening: connections are refused
        source = SftpSource(
            sshd_server.host, closed_port, sshd_server.username, sshd_server.client_keys["ed25519"],
            pinned, str(tmp_path), connect_timeout=2,
        )
        with pytest.raises(SftpError, match=f"cannot open an SFTP session on {sshd_server.host}:{closed_port}"):
            source.connect()
