"""Night folders on an SFTP server, with key authentication and a pinned host key.

Nothing outside the night folder is read: entries are listed with their own attributes
(``lstat``: a symbolic link is skipped, never followed), a night folder that is a symbolic
link is refused, and before a file is opened every folder on its way and the file itself
are ``lstat``-ed, and the open file's ``fstat`` must agree with the file's ``lstat`` (SFTP has
no ``O_NOFOLLOW``; a file swapped for a link in between is refused).  Names are taken as
bytes and escaped like a local folder's (:func:`connectors.sources.escape_name`).

The server's host key must be in the given known_hosts file (for a port other than
22 under the ``[host]:port`` form, as OpenSSH writes it); any other key is refused
with :class:`HostKeyRejected`, never accepted. Only the given private key file is
offered (Ed25519, ECDSA or RSA): no password, no agent, no keys from ``~/.ssh``.
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
import stat
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import BinaryIO, cast

import paramiko
from paramiko.sftp import CMD_CLOSE, CMD_HANDLE, CMD_NAME, CMD_OPENDIR, CMD_READDIR
from paramiko.sftp_attr import SFTPAttributes

from connectors.sources import (
    RemoteFile,
    UnsafeEntry,
    checked_rel_path,
    escape_name,
    is_skipped_name,
    parse_night_name,
    unescape_path,
)
from foundation.errors import ScfError

log = logging.getLogger(__name__)

_PREFETCH_REQUESTS = 64  # read-ahead of 64 × 32 KiB in flight: fast, bounded memory
_KEEPALIVE_SECONDS = 30


def _listdir_raw(sftp: paramiko.SFTPClient, path: bytes) -> list[tuple[bytes, SFTPAttributes]]:
    """``listdir_attr`` keeping each name's bytes (paramiko's decodes them as strict UTF-8, so a
    name that is not UTF-8 would fail the whole listing); ``.`` and ``..`` left out."""
    kind, msg = sftp._request(CMD_OPENDIR, path)
    if kind != CMD_HANDLE:
        raise paramiko.SFTPError("Expected handle")
    handle = msg.get_binary()
    entries: list[tuple[bytes, SFTPAttributes]] = []
    try:
        while True:
            try:
                kind, msg = sftp._request(CMD_READDIR, handle)
            except EOFError:
                break
            if kind != CMD_NAME:
                raise paramiko.SFTPError("Expected name response")
            for _ in range(msg.get_int()):
                name = msg.get_string()
                msg.get_string()  # the long name
                attr = SFTPAttributes._from_msg(msg)
                if name not in (b".", b".."):
                    entries.append((name, attr))
    finally:
        sftp._request(CMD_CLOSE, handle)
    return entries


class SftpError(ScfError):
    """The SFTP source cannot be used: connection, authentication or host-key failure."""


class HostKeyRejected(SftpError):
    """The server offered a host key the known_hosts file does not pin for it."""

    def __init__(
        self,
        host: str,
        port: int,
        known_hosts: Path,
        offered: paramiko.PKey,
        expected: paramiko.PKey | None,
    ) -> None:
        self.host = host
        self.port = port
        self.offered_fingerprint: str = offered.fingerprint
        self.expected_fingerprint: str | None = expected.fingerprint if expected else None
        offered_text = f"{offered.get_name()} key {offered.fingerprint}"
        if expected is None:
            reason = (
                f"{known_hosts} holds no key for {_known_hosts_name(host, port)}; "
                "add the server's key there once its fingerprint is confirmed out of band"
            )
        else:
            reason = (
                f"{known_hosts} pins {expected.get_name()} key {expected.fingerprint} for "
                f"{_known_hosts_name(host, port)}: the host key changed or the connection is "
                "intercepted; do not trust it before the server's owner confirms a new key"
            )
        super().__init__(f"host key of {host}:{port} not trusted: it offered {offered_text}, but {reason}")


class SftpAuthFailed(SftpError):
    """The server refused the client key."""


def _known_hosts_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class _RejectUnknownHostKey(paramiko.RejectPolicy):
    """paramiko's RejectPolicy, raising :class:`HostKeyRejected` with the offered fingerprint."""

    def __init__(self, host: str, port: int, known_hosts: Path) -> None:
        self._host, self._port, self._known_hosts = host, port, known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, _hostname: str, key: paramiko.PKey) -> None:
        raise HostKeyRejected(self._host, self._port, self._known_hosts, key, None)


class SftpSource:
    """Night folders under ``root`` on an SFTP server (see :class:`connectors.sources.Source`).

    The SSH session opens on first use (or with :meth:`connect`) and stays open until
    :meth:`close`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        key_path: Path,
        known_hosts_path: Path,
        root: str,
        *,
        connect_timeout: float = 15.0,
        io_timeout: float = 60.0,
    ) -> None:
        """``root`` is the remote folder holding the ``YYYY-MM-DD`` folders.

        ``connect_timeout`` bounds the TCP connect, banner and authentication steps;
        ``io_timeout`` bounds the wait for any single SFTP reply.
        """
        self.host = host
        self.port = port
        self.username = username
        self.key_path = Path(key_path)
        self.known_hosts_path = Path(known_hosts_path)
        self.root = root
        self.connect_timeout = connect_timeout
        self.io_timeout = io_timeout
        # RFC-draft sftp URI form: an absolute root as is, a home-relative one under "/~/"
        self.name = f"sftp://{username}@{host}:{port}{root if root.startswith('/') else '/~/' + root}"
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    def connect(self) -> None:
        """Open the session now; raises :class:`HostKeyRejected`, :class:`SftpAuthFailed`, :class:`SftpError`."""
        if self._sftp is None:
            self._sftp = self._open_session()

    def _session(self) -> paramiko.SFTPClient:
        self.connect()
        assert self._sftp is not None
        return self._sftp

    def _open_session(self) -> paramiko.SFTPClient:
        where = f"{self.host}:{self.port}"
        pkey = self._load_key()
        client = paramiko.SSHClient()
        try:
            client.load_host_keys(str(self.known_hosts_path))
        except OSError as exc:
            raise SftpError(f"cannot read known_hosts file {self.known_hosts_path} for {where}: {exc}") from exc
        client.set_missing_host_key_policy(_RejectUnknownHostKey(self.host, self.port, self.known_hosts_path))
        try:
            client.connect(
                self.host,
                port=self.port,
                username=self.username,
                pkey=pkey,
                allow_agent=False,
                look_for_keys=False,
                timeout=self.connect_timeout,
                banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout,
                channel_timeout=self.connect_timeout,
            )
            transport = cast(paramiko.Transport, client.get_transport())
            transport.set_keepalive(_KEEPALIVE_SECONDS)
            sftp = client.open_sftp()
            cast(paramiko.Channel, sftp.get_channel()).settimeout(self.io_timeout)
        except HostKeyRejected:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyRejected(self.host, self.port, self.known_hosts_path, exc.key, exc.expected_key) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            raise SftpAuthFailed(
                f"SFTP server {where} refused user {self.username!r} with key {self.key_path} "
                f"({pkey.get_name()} {pkey.fingerprint}): is its public key in that user's "
                f"authorized_keys? ({exc})"
            ) from exc
        except (paramiko.SSHException, OSError) as exc:
            client.close()
            raise SftpError(f"cannot open an SFTP session on {where}: {exc}") from exc
        self._client = client
        log.info("%s: connected, host key %s", self.name, transport.get_remote_server_key().fingerprint)
        return sftp

    def _load_key(self) -> paramiko.PKey:
        try:
            return paramiko.PKey.from_path(self.key_path)
        except OSError as exc:
            raise SftpError(f"cannot read SFTP client key {self.key_path}: {exc}") from exc
        except TypeError as exc:  # what cryptography raises for a key needing a passphrase
            if "password" not in str(exc).lower():
                raise
            raise SftpError(f"SFTP client key {self.key_path} is encrypted; give an unencrypted key file") from exc
        except (paramiko.UnknownKeyType, paramiko.SSHException, ValueError) as exc:
            raise SftpError(
                f"SFTP client key {self.key_path} is not an Ed25519, ECDSA or RSA private key: {exc}"
            ) from exc

    def _night_path(self, business_date: dt.date) -> str:
        return posixpath.join(self.root, business_date.isoformat())

    def nights(self) -> list[dt.date]:
        """The business dates that have a folder under ``root``, oldest first; other folders are
        reported and skipped."""
        try:
            entries = _listdir_raw(self._session(), self.root.encode())
        except FileNotFoundError as exc:
            raise SftpError(f"{self.name}: inbox folder {self.root} does not exist on the server") from exc
        dates = []
        for raw, entry in entries:
            if entry.st_mode is not None and stat.S_ISDIR(entry.st_mode) and not raw.startswith(b"."):
                day = parse_night_name(escape_name(raw))
                if day is None:
                    log.warning("%s: skipping folder %r: not a night folder YYYY-MM-DD", self.name, escape_name(raw))
                else:
                    dates.append(day)
        return sorted(dates)

    def list_night(self, business_date: dt.date) -> list[RemoteFile]:
        """Regular files of the night, recursively, sorted by ``rel_path``; empty if no folder."""
        night = self._night_path(business_date)
        sftp = self._session()
        try:
            mode = sftp.lstat(night).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and stat.S_ISLNK(mode):
            raise UnsafeEntry(
                f"{self.name}: night folder {night} is a symbolic link: refused (it could lead outside the "
                "inbox); deliver the night as a real folder"
            )
        if mode is None or not stat.S_ISDIR(mode):
            log.warning("%s: no folder for night %s (%s): no delivery", self.name, business_date, night)
            return []
        files: list[RemoteFile] = []
        self._walk(sftp, night.encode(), "", files)
        return sorted(files, key=lambda f: f.rel_path)

    def _walk(self, sftp: paramiko.SFTPClient, folder: bytes, prefix: str, out: list[RemoteFile]) -> None:
        for raw, entry in _listdir_raw(sftp, folder):
            name = escape_name(raw)
            if is_skipped_name(name):
                continue
            if b"/" in raw:
                log.warning("%s: skipping %r: a name holding '/' (not read)", self.name, name)
                continue
            rel_path = prefix + name
            mode = entry.st_mode or 0
            if stat.S_ISDIR(mode):
                self._walk(sftp, folder + b"/" + raw, rel_path + "/", out)
            elif stat.S_ISREG(mode):
                out.append(RemoteFile(rel_path, entry.st_size or 0, entry.st_mtime))
            else:
                log.warning("%s: skipping %s/%s: not a regular file (not read)", self.name, folder.decode(errors="replace"), name)

    def open(self, business_date: dt.date, rel_path: str) -> AbstractContextManager[BinaryIO]:
        """Open a file of the night for a streaming read (pipelined read-ahead), after checking
        that no folder on its way nor the file itself is a symbolic link (:class:`UnsafeEntry`)."""
        checked_rel_path(rel_path)
        where = f"{self.name}: {business_date}/{rel_path}"
        sftp = self._session()
        path = self._night_path(business_date).encode()
        parts = unescape_path(rel_path).split(b"/")
        for part in parts[:-1]:
            path += b"/" + part
            if not stat.S_ISDIR(sftp.lstat(path).st_mode or 0):
                raise UnsafeEntry(f"{where}: {part.decode(errors='replace')} is not a folder (a symbolic link?): refused")
        path += b"/" + parts[-1]
        listed = sftp.lstat(path)
        if not stat.S_ISREG(listed.st_mode or 0):
            raise UnsafeEntry(f"{where} is not a regular file (a symbolic link?): refused, not read")
        return self._read(path, listed, where)

    def has_marker(self, business_date: dt.date, name: str) -> bool:
        """Whether ``<root>/<date>/<name>`` is a regular file on the server (``lstat``: a link is not)."""
        try:
            return stat.S_ISREG(self._session().lstat(posixpath.join(self._night_path(business_date), name)).st_mode or 0)
        except FileNotFoundError:
            return False

    @contextmanager
    def _read(self, path: bytes, listed: SFTPAttributes, where: str) -> Iterator[BinaryIO]:
        with self._session().open(path, "rb") as remote:  # paramiko takes bytes paths
            opened = remote.stat()
            if (opened.st_size, opened.st_mtime) != (listed.st_size, listed.st_mtime):
                raise UnsafeEntry(f"{where} changed between its check and its opening (swapped for a link?): refused")
            remote.prefetch(max_concurrent_requests=_PREFETCH_REQUESTS)
            yield cast(BinaryIO, remote)

    def close(self) -> None:
        """Close the SFTP session and the SSH connection."""
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> SftpSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
