"""``labelcheck serve`` as a real process: waitress answers, a lead signs in, an upload
runs through the worker process, and SIGTERM (or the death of ``serve``) stops both."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "labelstudio" / "text_project.json"
EMAIL, PASSWORD = "lead@example.org", "a lead's password"
#: Upper bounds for waiting (the test fails past them; they are not speed targets).
START_LIMIT, JOB_LIMIT, STOP_LIMIT = 90.0, 120.0, 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent that does not reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


def _wait_for(condition: Callable[[], bool], limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting {limit:.0f} s for {what}")
        time.sleep(0.2)


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    out: Path
    err: Path

    def log(self) -> str:
        return f"--- stdout\n{self.out.read_text()}\n--- stderr\n{self.err.read_text()}"

    def worker_pid(self) -> int:
        match = re.search(r"worker pid (\d+)", self.out.read_text())
        assert match, self.log()
        return int(match.group(1))


def _start(instance: Path, port: int, tmp_path: Path) -> Served:
    outside = ("DATABASE_URL", "REDIS_URL", "LABELCHECK_DATABASE_URL", "LABELCHECK_REDIS_URL")
    env = {k: v for k, v in os.environ.items() if k not in outside}
    env["LABELCHECK_BOOTSTRAP_RESAMPLES"] = "20"
    tag = uuid.uuid4().hex[:6]
    out, err = tmp_path / f"serve-{tag}.out", tmp_path / f"serve-{tag}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        command = [sys.executable, "-m", "labelcheck.cli", "serve", "--instance", str(instance),
                   "--port", str(port), "--threads", "4"]
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                                env=env)
    return Served(proc, f"http://127.0.0.1:{port}", out, err)


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    """An instance with one lead."""
    from labelcheck.storage.database import Database, sqlite_url
    from labelcheck.web.auth import create_user

    folder = tmp_path / "instance"
    db = Database(sqlite_url(folder))
    db.upgrade()
    create_user(db, EMAIL, PASSWORD, "lead")
    db.dispose()
    return folder


@pytest.fixture
def served(instance: Path, tmp_path: Path) -> Iterator[Served]:
    server = _start(instance, _free_port(), tmp_path)

    def answers() -> bool:
        code = server.proc.poll()
        assert code is None, f"serve exited with {code}\n{server.log()}"
        try:
            with urllib.request.urlopen(server.url + "/login", timeout=5):
                return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    try:
        _wait_for(answers, START_LIMIT, "labelcheck serve to answer")
        yield server
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


class Browser:
    """Cookies, and the CSRF token of a form."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str, str]:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()

    def token(self, path: str) -> str:
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', self.get(path)[2])
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(self, path: str, body: bytes, content_type: str) -> tuple[int, str, str]:
        request = urllib.request.Request(self.base + path, data=body, method="POST",
                                         headers={"Content-Type": content_type})
        with self.opener.open(request, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()

    def sign_in(self, email: str, password: str) -> tuple[int, str, str]:
        form = {"csrf_token": self.token("/login"), "email": email, "password": password}
        body = urllib.parse.urlencode(form).encode()
        return self.post("/login", body, "application/x-www-form-urlencoded")

    def upload(self, path: str, fields: dict[str, str], file: Path) -> tuple[int, str, str]:
        boundary = uuid.uuid4().hex
        head = f"--{boundary}\r\nContent-Disposition: form-data; "
        parts = [f'{head}name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
        parts.append(f'{head}name="file"; filename="{file.name}"\r\n'
                     "Content-Type: application/json\r\n\r\n".encode()
                     + file.read_bytes() + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.post(path, body, f"multipart/form-data; boundary={boundary}")


def test_serve_runs_waitress_and_a_worker_and_stops_both_on_sigterm(served: Served) -> None:
    with urllib.request.urlopen(served.url + "/login", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Server"] == "waitress"
    assert "Werkzeug" not in served.out.read_text() + served.err.read_text()
    assert f"labelcheck is running at {served.url}/" in served.out.read_text()
    worker = served.worker_pid()
    assert _alive(worker)

    browser = Browser(served.url)
    status, landed, page = browser.sign_in(EMAIL, PASSWORD)
    assert status == 200 and urllib.parse.urlsplit(landed).path == "/", page[:500]

    token = browser.token("/projects/new")
    fields = {"csrf_token": token, "name": "Uploaded", "description": "", "file_format": ""}
    status, landed, _ = browser.upload("/projects/new", fields, FIXTURE)
    match = re.search(r"/projects/(\d+)/runs/(\d+)$", urllib.parse.urlsplit(landed).path)
    assert status == 200 and match, landed
    project_id, run_id = match.groups()

    runs: dict[str, dict[str, object]] = {}

    def finished(run: str) -> Callable[[], bool]:
        def check() -> bool:
            body = json.loads(browser.get(f"/projects/{project_id}/runs/{run}.json")[2])
            runs[run] = body["run"]
            return body["run"]["status"] in ("succeeded", "failed")
        return check

    _wait_for(finished(run_id), JOB_LIMIT, "the import to finish in the worker")
    assert runs[run_id]["status"] == "succeeded", (runs[run_id], served.log())
    assert "imported: 14 added" in str(runs[run_id]["message"])
    assert "Executing labelcheck.jobs.import_upload" in served.err.read_text()  # the worker ran it
    analysis_id = str(int(run_id) + 1)
    _wait_for(finished(analysis_id), JOB_LIMIT, "the analysis to finish in the worker")
    assert runs[analysis_id]["status"] == "succeeded", (runs[analysis_id], served.log())

    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(STOP_LIMIT) == 0, served.log()
    _wait_for(lambda: not _alive(worker), STOP_LIMIT, "the worker to stop")
    assert "labelcheck stopped" in served.out.read_text()


def test_the_worker_stops_when_serve_is_killed(served: Served) -> None:
    worker = served.worker_pid()
    served.proc.kill()
    served.proc.wait()
    _wait_for(lambda: not _alive(worker), STOP_LIMIT, "the orphaned worker to stop by itself")


def test_a_port_in_use_is_an_error_not_another_port(instance: Path, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = _start(instance, int(taken.getsockname()[1]), tmp_path)
        try:
            assert server.proc.wait(START_LIMIT) == 1
        finally:
            if server.proc.poll() is None:
                server.proc.kill()
    err = server.err.read_text()
    assert re.search(r"^Error: port \d+ on 127\.0\.0\.1 is already in use", err, re.M), server.log()
    assert "worker pid" not in server.out.read_text()
