"""A throwaway PostgreSQL cluster for tests.

:class:`PostgresCluster` runs ``initdb`` into a temporary directory (trust auth, superuser
``postgres``), starts the server with ``pg_ctl`` listening on 127.0.0.1 only, on a free
port, with its Unix socket in the same directory, and durability switched off for speed
(``fsync``, ``full_page_writes``, ``synchronous_commit``). It creates the database
``labelcheck`` and exposes it as a SQLAlchemy URL for psycopg 3::

    with PostgresCluster() as cluster:
        engine = sqlalchemy.create_engine(cluster.url)
        other_url = cluster.new_database("scratch")

``initdb`` and ``postgres`` refuse to run as root. When the test process is root (CI
containers), every server command runs as the ``postgres`` system user through
``runuser -u postgres --`` and the temporary directory is handed to that user.
"""

from __future__ import annotations

import atexit
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily so that collecting this module never needs psycopg
    import psycopg

SYSTEM_USER = "postgres"
"""The system account that owns the cluster when the test process runs as root."""

SUPERUSER = "postgres"
"""The database superuser created by ``initdb`` (trust auth, no password)."""

DATABASE = "labelcheck"
"""The database created at start; :attr:`PostgresCluster.url` points at it."""

HOST = "127.0.0.1"

#: Where the binaries are looked for after ``PATH``: /usr/local/bin (the CI image links
#: them there) and Debian/Ubuntu's versioned directory.
FALLBACK_BIN_DIRS: tuple[str, ...] = ("/usr/local/bin", "/usr/lib/postgresql/15/bin")

_SERVER_SETTINGS: tuple[tuple[str, str], ...] = (
    ("listen_addresses", HOST),
    ("fsync", "off"),
    ("full_page_writes", "off"),
    ("synchronous_commit", "off"),
)
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it
_TIMEOUT = 60.0


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries (or, as root, the ``postgres`` user) are not installed."""


class PostgresError(RuntimeError):
    """The cluster could not be initialised, started or stopped; the message holds the
    command and the tail of its output or of the server log."""


class PostgresCluster:
    """A private PostgreSQL server in a temporary directory, on a free loopback port.

    Parameters
    ----------
    bin_dir
        Directory holding ``initdb`` and ``pg_ctl``; by default they are searched on
        ``PATH`` and then in :data:`FALLBACK_BIN_DIRS`.
    base_dir
        Parent of the temporary directory (default: the system temp dir). As root it
        must be traversable by the ``postgres`` user, and short enough for a Unix
        socket path (about 100 characters).
    """

    def __init__(self, bin_dir: str | os.PathLike[str] | None = None,
                 base_dir: str | os.PathLike[str] | None = None) -> None:
        self._bin_dir = None if bin_dir is None else Path(bin_dir)
        self._base_dir = None if base_dir is None else str(base_dir)
        self.dir: Path | None = None
        self.port: int | None = None
        self.pid: int | None = None
        self._pid_start: str | None = None
        self._initdb = self._pg_ctl = ""
        self._as_user: list[str] = []

    # -- public API --------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._require_started() / "data"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``labelcheck`` database."""
        return self.url_for(DATABASE)

    def url_for(self, database: str) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of ``database`` in this cluster."""
        self._require_started()
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        """A plain psycopg autocommit connection, for administration."""
        self._require_started()
        import psycopg

        return psycopg.connect(host=HOST, port=self.port, user=SUPERUSER,
                               dbname=database, autocommit=True, connect_timeout=5)

    def new_database(self, name: str) -> str:
        """Create an empty database ``name`` (from ``template1``) and return its URL."""
        from psycopg import sql

        self._check_name(name)
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name`` if it exists, terminating any connection still open to it."""
        from psycopg import sql

        self._check_name(name)
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))

    def pids(self) -> list[int]:
        """The postmaster's pid and its children's (Linux ``/proc`` only; else just the
        postmaster's)."""
        if self.pid is None or not _is_running(self.pid, self._pid_start):
            return []
        return [self.pid, *_children(self.pid)]

    def start(self) -> PostgresCluster:
        """Initialise and start the cluster, create the ``labelcheck`` database and wait
        until it accepts TCP connections. Returns ``self``."""
        if self.dir is not None:
            raise PostgresError("cluster already started; create a new PostgresCluster")
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise PostgresUnavailable("the PostgreSQL driver is not installed: "
                                      "pip install 'psycopg[binary]'") from exc
        self._initdb, self._pg_ctl = self._find_binaries()
        self._as_user = self._run_as_prefix()
        self.dir = Path(tempfile.mkdtemp(prefix="labelcheck-pg-", dir=self._base_dir))
        atexit.register(self.stop)
        try:
            if self._as_user:
                os.chmod(self.dir, 0o700)
                shutil.chown(self.dir, user=SYSTEM_USER, group=_group_of(SYSTEM_USER))
            self._run([self._initdb, "-D", str(self.data_dir), "-U", SUPERUSER,
                       "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync",
                       "--no-instructions"], what="initdb")
            self._start_server()
            self.new_database(DATABASE)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``, then SIGKILL to the postmaster's own
        pid if it is still alive) and delete the directory. Safe to call twice."""
        atexit.unregister(self.stop)
        if self.dir is None:
            return
        try:
            if self.pid is not None and _is_running(self.pid, self._pid_start):
                try:
                    self._run([self._pg_ctl, "stop", "-D", str(self.data_dir), "-m", "fast",
                               "-w", "-t", "30"], what="pg_ctl stop", timeout=40)
                except PostgresError:
                    pass  # the kill below is the fallback
                if _is_running(self.pid, self._pid_start):
                    os.kill(self.pid, signal.SIGKILL)
                _wait_until(lambda: not _is_running(self.pid, self._pid_start), 10.0)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = self.port = self.pid = self._pid_start = None

    def __enter__(self) -> PostgresCluster:
        return self.start() if self.dir is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------

    def _start_server(self) -> None:
        import psycopg

        log = self._require_started() / "server.log"
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = _free_port()
            options = [f"-c {k}={v}" for k, v in (*_SERVER_SETTINGS, ("port", str(self.port)))]
            options.append(f"-k {shlex.quote(str(self.dir))}")
            try:
                self._run([self._pg_ctl, "start", "-D", str(self.data_dir), "-l", str(log),
                           "-w", "-t", str(int(_TIMEOUT)), "-o", " ".join(options)],
                          what="pg_ctl start", log=log)
                break
            except PostgresError:
                text = log.read_text(errors="replace") if log.exists() else ""
                if attempt == _START_ATTEMPTS or "could not bind" not in text:
                    raise
        self.pid, self._pid_start = self._postmaster_pid()
        deadline = time.monotonic() + _TIMEOUT
        while True:  # pg_ctl -w checked the socket; make sure TCP on 127.0.0.1 answers too
            try:
                self.connect().close()
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PostgresError(f"PostgreSQL on {HOST}:{self.port} did not accept "
                                        f"connections within {_TIMEOUT:.0f} s: {exc}") from exc
                time.sleep(0.05)

    def _postmaster_pid(self) -> tuple[int, str | None]:
        first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
        pid = int(first)
        return pid, _start_time(pid)

    def _find_binaries(self) -> tuple[str, str]:
        if self._bin_dir is not None:
            search = [str(self._bin_dir)]
        else:
            search = [os.environ.get("PATH", os.defpath), *FALLBACK_BIN_DIRS]
        found = []
        for name in ("initdb", "pg_ctl"):
            path = shutil.which(name, path=os.pathsep.join(search))
            if path is None:
                raise PostgresUnavailable(
                    f"PostgreSQL 15 binaries (initdb, pg_ctl) not on PATH: {name} not found "
                    f"in {os.pathsep.join(search)}; install them (Debian: apt-get install "
                    "postgresql-15) and put their directory on PATH")
            found.append(path)
        return found[0], found[1]

    @staticmethod
    def _run_as_prefix() -> list[str]:
        if os.geteuid() != 0:
            return []
        try:
            _group_of(SYSTEM_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root, so PostgreSQL must run as the {SYSTEM_USER!r} system "
                f"user, which does not exist (it comes with Debian's postgresql package; "
                f"or run the tests as a non-root user)") from None
        runuser = shutil.which("runuser")
        if runuser is None:
            raise PostgresUnavailable("running as root needs `runuser` (util-linux) "
                                      f"to start PostgreSQL as {SYSTEM_USER!r}")
        return [runuser, "-u", SYSTEM_USER, "--"]

    def _run(self, args: Sequence[str], what: str, log: Path | None = None,
             timeout: float = _TIMEOUT + 30) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        cmd = [*self._as_user, *args]
        try:
            done = subprocess.run(cmd, cwd=self.dir, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise PostgresError(f"{what} did not finish within {timeout:.0f} s: "
                                f"{' '.join(cmd)}") from exc
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip()
            if log is not None and log.exists():
                tail += "\n--- server log ---\n" + log.read_text(errors="replace")
            raise PostgresError(f"{what} failed (exit {done.returncode}): {' '.join(cmd)}\n"
                                + "\n".join(tail.splitlines()[-30:]))

    def _require_started(self) -> Path:
        if self.dir is None:
            raise PostgresError("PostgreSQL cluster is not running: call start() or use "
                                "`with PostgresCluster() as cluster:`")
        return self.dir

    @staticmethod
    def _check_name(name: str) -> None:
        if not _NAME.match(name):
            raise ValueError(f"database name {name!r}: expected lowercase letters, digits "
                             "and underscores, starting with a letter or underscore, "
                             "at most 63 characters")


def _group_of(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state is [0], ppid [1],
    start time [19]), or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw[raw.rindex(")") + 2:].split()


def _start_time(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return None if fields is None else fields[19]


def _is_running(pid: int | None, start_time: str | None) -> bool:
    """Whether ``pid`` is alive, not a zombie, and (when known) still the process that
    started at ``start_time`` rather than a recycled pid."""
    if pid is None:
        return False
    if not Path("/proc/self/stat").exists():  # not Linux: best effort
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    fields = _stat_fields(pid)
    if fields is None or fields[0] in {"Z", "X"}:
        return False
    return start_time is None or fields[19] == start_time


def _children(pid: int) -> list[int]:
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    out = []
    for entry in proc.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and fields[1] == str(pid) and fields[0] not in {"Z", "X"}:
                out.append(int(entry.name))
    return sorted(out)


def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
