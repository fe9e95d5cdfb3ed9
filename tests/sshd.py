"""A real OpenSSH ``sshd`` on loopback for the SFTP tests, with keys made fresh per session.

There is no chroot: any local absolute path (e.g. a test's ``tmp_path``) is reachable
over SFTP under the same path.

Use the ``sshd_server`` fixture (import it into the test module). Without
``/usr/sbin/sshd`` the tests are skipped on a workstation, but fail when ``CI`` is set:
CI must really run them.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")  # Debian's privilege-separation chroot, needed when run as root
HOST = "127.0.0.1"
_START_TIMEOUT = 5.0
_KEY_KINDS = ("ed25519", "ecdsa", "rsa")


@dataclass(frozen=True)
class SshdServer:
    """A running sshd and the files a client needs to reach it."""

    host: str
    port: int
    username: str
    host_public_key: str  # "ssh-ed25519 AAAA…", as in a known_hosts line
    client_keys: dict[str, Path]  # key kind → authorized private key file
    unauthorized_key: Path  # a valid key the server does not know
    log_path: Path  # sshd's own log (-e), for diagnosing a failed test

    def known_hosts_line(self, public_key: str | None = None) -> str:
        """A known_hosts line pinning ``public_key`` (default: the real host key) for this server."""
        return f"[{self.host}]:{self.port} {public_key or self.host_public_key}\n"


def write_private_key(kind: str, path: Path) -> str:
    """Write a fresh unencrypted OpenSSH private key (mode 0600); return its public key line."""
    key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif kind == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    elif kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        raise ValueError(f"unknown key kind {kind!r}")
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return public.decode("ascii")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _write_config(workdir: Path, port: int, host_key: Path, authorized_keys: Path) -> Path:
    config = workdir / "sshd_config"
    config.write_text(
        f"""\
Port {port}
ListenAddress {HOST}
HostKey {host_key}
PidFile {workdir / "sshd.pid"}
AuthorizedKeysFile {authorized_keys}
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
UseDNS no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
Subsystem sftp internal-sftp
"""
    )
    return config


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log_path: Path) -> bool:
    """True once the port accepts connections; False if sshd exited (e.g. port taken)."""
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"sshd did not listen on {HOST}:{port} within {_START_TIMEOUT}s:\n{log_path.read_text()}")


@contextmanager
def running_sshd(workdir: Path) -> Iterator[SshdServer]:
    """Start ``sshd -D -e`` on a free loopback port with fresh keys under ``workdir``; stop it after."""
    if os.geteuid() == 0:
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    host_public_key = write_private_key("ed25519", workdir / "ssh_host_ed25519_key")
    client_keys: dict[str, Path] = {}
    authorized: list[str] = []
    for kind in _KEY_KINDS:
        client_keys[kind] = workdir / f"client_{kind}"
        authorized.append(write_private_key(kind, client_keys[kind]))
    unauthorized_key = workdir / "client_unauthorized"
    write_private_key("ed25519", unauthorized_key)
    authorized_keys = workdir / "authorized_keys"
    authorized_keys.write_text("".join(f"{line}\n" for line in authorized))
    log_path = workdir / "sshd.log"

    for _attempt in range(3):  # another process may grab the free port before sshd binds it
        port = _free_port()
        config = _write_config(workdir, port, workdir / "ssh_host_ed25519_key", authorized_keys)
        with log_path.open("ab") as log:
            proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=log, stderr=log)
        if _wait_listening(proc, port, log_path):
            break
    else:
        raise RuntimeError(f"sshd exited at start-up three times:\n{log_path.read_text()}")

    try:
        yield SshdServer(
            host=HOST,
            port=port,
            username=pwd.getpwuid(os.geteuid()).pw_name,
            host_public_key=host_public_key,
            client_keys=client_keys,
            unauthorized_key=unauthorized_key,
            log_path=log_path,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdServer]:
    """A real sshd for the whole test session (skipped off CI when sshd is not installed)."""
    if not SSHD.is_file():
        message = f"{SSHD} is not installed (Debian: apt-get install openssh-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the SFTP tests", pytrace=False)
        pytest.skip(message)
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server
