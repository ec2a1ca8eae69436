"""Real servers for the production-path tests, started once per test session (per xdist worker):

- `postgres`: a throwaway PostgreSQL cluster (initdb + pg_ctl in a temporary folder, under `runuser -u postgres`
  when the tests run as root, which initdb refuses), on a free port of 127.0.0.1 with password authentication;
- `mlflow_server`: `mlflow server` on 127.0.0.1 (SQLite backend store, proxied artifacts), with a small reverse
  proxy in front that requires `Authorization: Bearer <token>` and records every request it saw.

A missing PostgreSQL makes these tests skip locally; with SPECOPS_REQUIRE_SERVERS=1 (set by .ci/run, which
installs Debian's postgresql) they fail instead, so CI never passes by skipping them.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REQUIRED = os.environ.get("SPECOPS_REQUIRE_SERVERS") == "1"


def unavailable(reason: str) -> None:
    """Skip (locally) or fail (in CI) a test whose server cannot run here."""
    if REQUIRED:
        pytest.fail(f"{reason} (SPECOPS_REQUIRE_SERVERS=1: CI must run the server tests)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- PostgreSQL


def pg_bindir() -> str | None:
    if os.environ.get("PG_BINDIR"):
        return os.environ["PG_BINDIR"]
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


@dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    def connect(self, dbname: str | None = None):
        import psycopg2

        con = psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=dbname or self.dbname)
        con.autocommit = True
        return con

    def create_database(self, name: str) -> str:
        """A fresh database of that name (dropped first when it exists)."""
        con = self.connect()
        try:
            with con.cursor() as cur:
                cur.execute(f'drop database if exists "{name}" with (force)')
                cur.execute(f'create database "{name}"')
        finally:
            con.close()
        return name


@contextlib.contextmanager
def pg_cluster(password: str) -> Iterator[PgServer]:
    bindir = pg_bindir()
    if bindir is None:
        raise FileNotFoundError("no PostgreSQL server binaries (apt-get install postgresql)")
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    tmp = tempfile.mkdtemp(prefix="specops-pg-")
    data, log, pwfile = (os.path.join(tmp, n) for n in ("data", "server.log", "pw"))
    with open(pwfile, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    if as_root:
        owner = pwd.getpwnam("postgres")
        for path in (tmp, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    port = free_port()
    try:
        subprocess.run([*prefix, f"{bindir}/initdb", "-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                        "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"],
                       check=True, capture_output=True, text=True)
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off")
        subprocess.run([*prefix, f"{bindir}/pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"],
                       check=True, capture_output=True, text=True)
        yield PgServer("127.0.0.1", port, "postgres", password, "postgres")
    except subprocess.CalledProcessError as exc:
        tail = Path(log).read_text(errors="replace")[-2000:] if os.path.exists(log) else ""
        raise RuntimeError(f"{exc.cmd[len(prefix)]} failed: {exc.stderr}\n{tail}") from None
    finally:
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            subprocess.run([*prefix, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
                           capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    """A PostgreSQL server for the whole session (one per xdist worker)."""
    pytest.importorskip("psycopg2")
    if pg_bindir() is None:
        unavailable("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    with pg_cluster("pg-" + secrets.token_hex(8)) as server:
        yield server


# --------------------------------------------------------------------------- MLflow


@dataclass
class BearerProxy:
    """Requests seen by the proxy: (method, path, authorized)."""

    url: str
    token: str
    seen: list[tuple[str, str, bool]] = field(default_factory=list)

    def clear(self) -> None:
        self.seen.clear()


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, record: BearerProxy):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.record = record
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
               "transfer-encoding", "upgrade"}


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, reason: str, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status, reason)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        body = self._body()
        record = self.server.record
        authorized = self.headers.get("Authorization") == f"Bearer {record.token}"
        with self.server.lock:
            record.seen.append((self.command, self.path, authorized))
        if not authorized:
            self._send(401, "Unauthorized", [("WWW-Authenticate", "Bearer"), ("Content-Type", "application/json")],
                       b'{"error_code": "UNAUTHENTICATED", "message": "a bearer token is required"}')
            return
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in _HOP_BY_HOP and k.lower() not in ("authorization", "content-length")}
        con = http.client.HTTPConnection(*self.server.upstream, timeout=300)
        try:
            con.request(self.command, self.path, body=body, headers=headers)
            resp = con.getresponse()
            data = resp.read()
        finally:
            con.close()
        self._send(resp.status, resp.reason,
                   [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP | {"content-length"}], data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


@contextlib.contextmanager
def bearer_proxy(upstream: str, token: str) -> Iterator[BearerProxy]:
    record = BearerProxy("", token)
    server = _ProxyServer(upstream, record)
    record.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class MlflowServer:
    url: str  # the server itself (no authentication)
    proxy: BearerProxy  # the authenticating proxy in front of it: point clients here


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"mlflow server not healthy after {timeout}s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def run_mlflow_server(token: str) -> Iterator[MlflowServer]:
    mlflow = Path(sys.executable).with_name("mlflow")
    tmp = Path(tempfile.mkdtemp(prefix="specops-mlflow-"))
    port = free_port()
    log = tmp / "server.log"
    args = [str(mlflow), "server", "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db",
            "--artifacts-destination", str(tmp / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1"]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}
    with open(log, "wb") as out:
        # its own process group: mlflow server forks its workers, and all of them must go at the end
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env, cwd=tmp)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        with bearer_proxy(url, token) as proxy:
            yield MlflowServer(url, proxy)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def mlflow_server() -> Iterator[MlflowServer]:
    """`mlflow server` for the whole session, behind a bearer-token proxy."""
    pytest.importorskip("mlflow")
    with run_mlflow_server("tok-" + secrets.token_hex(12)) as server:
        yield server
