"""A throwaway Label Studio server for tests and the bench, and helpers to seed it.

:class:`LabelStudioServer` starts the ``label-studio`` executable that
``scripts/install_label_studio.sh`` prints (installing it once per machine when
missing), on 127.0.0.1 and a free port, with a fresh data directory (SQLite) and a
known administrator, legacy API token and password::

    with LabelStudioServer() as server:
        client = server.client()                     # legacy token
        pat = server.personal_access_token()         # a JWT refresh token
        annotators = create_annotators(client, 3)
        project_id = seed_project(client, 60, annotators)

Label Studio quirks handled here:

* it never reaches the internet: Sentry, the latest-version check and analytics are
  off; SSRF protection is off so that webhooks to 127.0.0.1 work;
* ``--host`` is not the bind address (``--internal-host`` is), and a taken port makes
  it silently move to the next one: the server is ours only when our own, random token
  is accepted on the port we asked for (else it is stopped and started again);
* it runs in its own session (process group) and is stopped by its own pid: SIGTERM to
  that group, SIGKILL after a timeout.  ``label-studio --version`` waits on the network
  and is never called.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = ROOT / "scripts" / "install_label_studio.sh"
#: The demo's label config: a single-choice intent and a 1-4 urgency rating over a ticket.
DEMO_LABEL_CONFIG = (ROOT / "labelcheck" / "demo" / "label_config.xml").read_text()
INTENTS = ("Billing", "Refund", "Technical issue", "Account access", "Shipping", "Legal complaint")
CHANNELS = ("email", "chat", "phone", "web")
LANGUAGES = ("en", "de", "fr", "es")

#: Environment variable naming a ``label-studio`` executable to use instead of the
#: install script's.
EXE_ENV = "LABELCHECK_LABEL_STUDIO"
START_TIMEOUT = 180.0
STOP_TIMEOUT = 20.0
INSTALL_TIMEOUT = 1800.0
_START_ATTEMPTS = 3
#: Settings that keep Label Studio off the internet (and webhooks to loopback allowed).
_OFFLINE_ENV = {
    "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "", "LATEST_VERSION_CHECK": "false",
    "COLLECT_ANALYTICS": "false", "SSRF_PROTECTION_ENABLED": "false",
    "PYTHONUNBUFFERED": "1",  # the log shows the port warning as it happens
}
#: Inherited variables Label Studio would read as its own settings.
_DROPPED_ENV = ("DEBUG", "DJANGO_DB", "PORT", "HOST", "USERNAME", "PASSWORD", "USER_TOKEN")


class LabelStudioUnavailable(RuntimeError):
    """Label Studio is not installed and could not be installed."""


class LabelStudioError(RuntimeError):
    """The server could not be started or did not answer; the message holds the tail of
    its log."""


def label_studio_executable(timeout: float = INSTALL_TIMEOUT) -> str:
    """Path of the ``label-studio`` executable: ``$LABELCHECK_LABEL_STUDIO`` if set, else
    what ``scripts/install_label_studio.sh`` prints (it installs once per machine,
    a few minutes, when missing).  Raises :class:`LabelStudioUnavailable`."""
    override = os.environ.get(EXE_ENV, "").strip()
    if override:
        if not os.access(override, os.X_OK):
            raise LabelStudioUnavailable(f"${EXE_ENV}={override!r} is not an executable")
        return override
    bash = shutil.which("bash")
    if bash is None:
        raise LabelStudioUnavailable("bash is needed to run scripts/install_label_studio.sh")
    try:
        done = subprocess.run([bash, str(INSTALL_SCRIPT)], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired as exc:
        raise LabelStudioUnavailable(f"{INSTALL_SCRIPT.name} did not finish in {timeout:.0f} s") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not os.access(lines[-1], os.X_OK):
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise LabelStudioUnavailable(f"Label Studio is not installed and {INSTALL_SCRIPT.name} failed "
                                     f"(exit {done.returncode}):\n{tail}")
    return lines[-1]


class LabelStudioServer:
    """A private Label Studio in a temporary directory, on a free loopback port.

    Parameters
    ----------
    executable
        The ``label-studio`` executable (default: :func:`label_studio_executable`).
    base_dir
        Parent of the temporary directory (default: the system temp dir).
    """

    def __init__(self, executable: str | None = None,
                 base_dir: str | os.PathLike[str] | None = None) -> None:
        self._executable = executable
        self._base_dir = None if base_dir is None else str(base_dir)
        self.dir: Path | None = None
        self.port: int | None = None
        self.pid: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.username = f"admin-{secrets.token_hex(4)}@labelcheck.test"
        self.password = secrets.token_urlsafe(12)
        self.legacy_token = secrets.token_hex(20)
        self._personal_token: str | None = None

    # -- public API --------------------------------------------------------------------

    @property
    def url(self) -> str:
        self._require_started()
        return f"http://{HOST}:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self._require_started() / "data"

    @property
    def log_path(self) -> Path:
        return self._require_started() / "server.log"

    def client(self, api_key: str | None = None, timeout: float = 600.0) -> Any:
        """A ``label_studio_sdk.LabelStudio`` client (the legacy token by default)."""
        from label_studio_sdk import LabelStudio

        return LabelStudio(base_url=self.url, api_key=api_key or self.legacy_token, timeout=timeout)

    def personal_access_token(self) -> str:
        """The administrator's personal access token (a JWT refresh token), created on
        first use."""
        if self._personal_token is None:
            self._personal_token = str(self.client().tokens.create().token)
        return self._personal_token

    def start(self) -> LabelStudioServer:
        """Start the server and wait until it answers as ours.  Returns ``self``."""
        if self.dir is not None:
            raise LabelStudioError("server already started; create a new LabelStudioServer")
        executable = self._executable or label_studio_executable()
        self.dir = Path(tempfile.mkdtemp(prefix="labelcheck-ls-", dir=self._base_dir))
        atexit.register(self.stop)
        try:
            for attempt in range(1, _START_ATTEMPTS + 1):
                self.port = _free_port()
                self._spawn(executable)
                try:
                    self._wait_until_ready()
                    return self
                except _NotOurs as exc:
                    self._kill()
                    if attempt == _START_ATTEMPTS:
                        raise LabelStudioError(f"{exc}\n{self._log_tail()}") from None
        except BaseException:
            self.stop()
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop the server (its process group: SIGTERM, SIGKILL after
        :data:`STOP_TIMEOUT`) and delete its directory.  Safe to call twice."""
        atexit.unregister(self.stop)
        if self.dir is None:
            return
        try:
            self._kill()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = self.port = None

    def __enter__(self) -> LabelStudioServer:
        return self.start() if self.dir is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------

    def _spawn(self, executable: str) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("LABEL_STUDIO_", "HEARTEX_")) and k not in _DROPPED_ENV}
        env.update(_OFFLINE_ENV)
        args = [executable, "start", "--no-browser", "--internal-host", HOST, "--port", str(self.port),
                "--data-dir", str(self.data_dir), "--username", self.username, "--password", self.password,
                "--user-token", self.legacy_token, "--enable-legacy-api-token"]
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- starting on port {self.port} ---\n".encode())
            log.flush()
            self._process = subprocess.Popen(args, cwd=self.dir, env=env, stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self._process.pid

    def _wait_until_ready(self) -> None:
        """Poll ``/api/version`` on our port, then check our token is accepted there."""
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._process.poll() is not None:
                raise LabelStudioError(f"Label Studio exited with code {self._process.returncode} "
                                       f"before answering on {self.url}\n{self._log_tail()}")
            if f"Port {self.port} is in use" in self.log_path.read_text(errors="replace"):
                raise _NotOurs(f"port {self.port} was taken; Label Studio moved to another one")
            if _get(f"{self.url}/api/version") is not None:
                break
            if time.monotonic() > deadline:
                self._kill()
                raise LabelStudioError(f"Label Studio did not answer {self.url}/api/version within "
                                       f"{START_TIMEOUT:.0f} s\n{self._log_tail()}")
            time.sleep(0.5)
        me = _get(f"{self.url}/api/current-user/whoami",
                  {"Authorization": f"Token {self.legacy_token}"})
        if not isinstance(me, dict) or me.get("email") != self.username:
            raise _NotOurs(f"the server on port {self.port} is not ours (it rejected our token)")

    def _kill(self) -> None:
        process, self._process = self._process, None
        self.pid = None
        if process is None or process.poll() is not None:
            _signal_group(process, signal.SIGKILL)  # leftovers of an exited leader
            return
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(10)

    def _log_tail(self, lines: int = 40) -> str:
        if self.dir is None or not self.log_path.exists():
            return "(no server log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "--- Label Studio log (tail) ---\n" + "\n".join(text[-lines:])

    def _require_started(self) -> Path:
        if self.dir is None:
            raise LabelStudioError("Label Studio is not running: call start() or use "
                                   "`with LabelStudioServer() as server:`")
        return self.dir


class _NotOurs(Exception):
    """The port answered, but not with our server."""


def _signal_group(process: subprocess.Popen[bytes] | None, sig: int) -> None:
    """Send ``sig`` to the process group led by ``process`` (its own session)."""
    if process is None:
        return
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _get(url: str, headers: dict[str, str] | None = None) -> Any:
    """The decoded JSON of a GET, or None when nothing (or no JSON) answers."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.loads(answer.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None


# --- seeding --------------------------------------------------------------------------
def create_annotators(client: Any, n: int, *, prefix: str = "annotator") -> list[int]:
    """Create ``n`` users (``{prefix}{i}-{random}@labelcheck.test``) and return their ids."""
    tag = secrets.token_hex(3)
    ids = []
    for i in range(1, n + 1):
        name = f"{prefix}{i}-{tag}"
        user = client.users.create(email=f"{name}@labelcheck.test", username=name,
                                   first_name=prefix.title(), last_name=str(i))
        ids.append(int(user.id))
    return ids


def seed_tasks(n_tasks: int, annotator_ids: Sequence[int], *, seed: int = 0,
               n_cancelled: int = 2, agreement: float = 0.8) -> list[dict[str, Any]]:
    """``n_tasks`` tickets for the demo label config, each annotated by every annotator:
    an intent (each annotator agrees with the ticket's true intent with probability
    ``agreement``, else picks another) and an urgency (the true one, one step off one
    time in four).  About one annotation in fifty leaves urgency unanswered; the last
    annotation of the first ``n_cancelled`` tasks is cancelled (skipped, no result)."""
    rng = random.Random(seed)
    tasks = []
    for t in range(n_tasks):
        intent = rng.choice(INTENTS)
        urgency = rng.randint(1, 4)
        annotations = []
        for k, uid in enumerate(annotator_ids):
            cancelled = t < n_cancelled and k == len(annotator_ids) - 1
            result: list[dict[str, Any]] = []
            if not cancelled:
                others = [i for i in INTENTS if i != intent]
                answer = intent if rng.random() < agreement else rng.choice(others)
                result.append({"from_name": "intent", "to_name": "text", "type": "choices",
                               "value": {"choices": [answer]}})
                if rng.random() >= 0.02:
                    off = 0 if rng.random() < 0.75 else rng.choice((-1, 1))
                    rating = min(4, max(1, urgency + off))
                    result.append({"from_name": "urgency", "to_name": "text", "type": "rating",
                                   "value": {"rating": rating}})
            annotations.append({"completed_by": uid, "ground_truth": False, "was_cancelled": cancelled,
                                "lead_time": round(rng.uniform(2.0, 90.0), 1), "result": result})
        tasks.append({"data": {"ticket_id": f"T-{seed:02d}{t + 1:06d}", "channel": rng.choice(CHANNELS),
                               "language": rng.choice(LANGUAGES),
                               "text": f"Ticket {t + 1}: a customer writes about {intent.lower()}."},
                      "annotations": annotations})
    return tasks


def seed_project(client: Any, n_tasks: int, annotator_ids: Sequence[int], *, seed: int = 0,
                 label_config: str = DEMO_LABEL_CONFIG, title: str | None = None,
                 n_cancelled: int = 2, batch_size: int = 2000) -> int:
    """Create a project with ``label_config`` and import :func:`seed_tasks` into it in
    batches of ``batch_size``; returns the project id.  A rejected import raises
    :class:`LabelStudioError` with the start of the server's answer (not every task)."""
    project = client.projects.create(title=title or f"labelcheck seed {n_tasks} {secrets.token_hex(3)}",
                                     label_config=label_config)
    pid = int(project.id)
    tasks = seed_tasks(n_tasks, annotator_ids, seed=seed, n_cancelled=n_cancelled)
    for lo in range(0, len(tasks), batch_size):
        try:
            client.projects.import_tasks(pid, request=tasks[lo:lo + batch_size])
        except Exception as err:
            detail = str(getattr(err, "body", None) or err)
            raise LabelStudioError(f"importing tasks {lo + 1}-{lo + batch_size} into project {pid} failed: "
                                   f"{type(err).__name__}: {detail[:500]}") from None
    return pid
