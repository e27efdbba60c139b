"""The app's commands: ``labelcheck db upgrade``, ``users create``, ``import-file``,
``demo``, ``serve`` and ``worker``.

``serve`` runs the Flask app under waitress (a production WSGI server) and starts
``labelcheck worker`` (a Huey consumer) as a child process; ``import-file`` and ``demo``
import synchronously through :mod:`labelcheck.pipeline`, without the queue.  Only click
and the standard library are imported at module level, so ``labelcheck --help`` stays
fast.  :mod:`labelcheck.jobs` picks its queue (``LABELCHECK_INSTANCE``, ``REDIS_URL``)
when imported, so ``serve`` and ``worker`` set those variables before importing it.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from labelcheck.storage.database import Database

F = TypeVar("F", bound=Callable[..., Any])

#: ``labelcheck.io.FILE_FORMATS`` (a test keeps the two in step).
FILE_FORMATS = (
    "labelstudio-json", "labelstudio-json-min", "labelstudio-csv", "long-csv", "parquet",
)
#: ``labelcheck.storage.models.ROLES`` (a test keeps the two in step).
ROLES = ("lead", "annotator", "engineer")
DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
#: The bundled demo export, newest first: (file in ``labelcheck/demo``, project, description).
DEMO_EXPORTS = (
    ("support_tickets.json", "Kestrel support tickets (demo)",
     "Synthetic support tickets of a made-up smart-home company, sorted into six intents and "
     "rated for urgency by eight annotators; see labelcheck/demo/README.md for what is planted."),
    ("demo_export.json", "Sentiment (demo)",
     "Synthetic 4-class sentiment project with six annotators; see labelcheck/demo/README.md."),
)
DEMO_LEAD = "lead@demo.labelcheck"
DEMO_ENGINEER = "engineer@demo.labelcheck"
DEMO_ANNOTATOR = "annotator@demo.labelcheck"  # when annotators.json gives no e-mail
DEMO_PASSWORD_FILE = "demo_password"
#: Seconds ``serve`` gives the worker to finish its job (SIGINT), then to stop (SIGTERM).
WORKER_GRACE = (10.0, 5.0)
#: Set by ``serve`` for its worker, which stops when that process is gone.
SERVE_PID_ENV = "LABELCHECK_SERVE_PID"
MAX_PROBLEMS_SHOWN = 20


# --- shared -------------------------------------------------------------------------
def _errors(command: F) -> F:
    """Library errors become ``Error: <message>`` and exit 1 (see ``labelcheck.cli``)."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import OperationalError

        from labelcheck.errors import LabelcheckError

        try:
            return command(*args, **kwargs)
        except LabelcheckError as exc:
            raise click.ClickException(str(exc)) from None
        except OperationalError as exc:
            first = str(exc.orig or exc).splitlines()[0]
            raise click.ClickException(f"database: {first}") from None

    return wrapped  # type: ignore[return-value]


_instance_option = click.option(
    "--instance", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
    help="Instance folder (settings, SQLite database, job queue, uploads). "
         "Default: $LABELCHECK_INSTANCE, else ./instance.")


def instance_settings(instance: Path | None, *,
                      export: bool = False) -> tuple[Path, dict[str, Any]]:
    """The instance folder and its settings (:func:`labelcheck.web.settings.load_settings`).

    With ``export``, ``LABELCHECK_INSTANCE`` and ``REDIS_URL`` are set in the environment
    (for :mod:`labelcheck.jobs`, imported afterwards, and for child processes)."""
    from labelcheck.web.settings import default_instance_path, load_settings

    path = instance.resolve() if instance is not None else default_instance_path()
    settings = load_settings(path)
    if export:
        os.environ["LABELCHECK_INSTANCE"] = str(path)
        if settings.get("REDIS_URL") and not os.environ.get("LABELCHECK_REDIS_URL"):
            os.environ["REDIS_URL"] = str(settings["REDIS_URL"])
        if os.environ.get("LABELCHECK_REDIS_URL") or os.environ.get("REDIS_URL"):
            import importlib.util

            if importlib.util.find_spec("redis") is None:
                from labelcheck.errors import LabelcheckError

                raise LabelcheckError("REDIS_URL is set, but the redis package is not installed: "
                                      "pip install redis (or unset REDIS_URL for the SQLite queue)")
    return path, settings


def redacted(url: str) -> str:
    """A database URL fit to print (no password)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def open_database(url: str) -> Database:
    """The database at ``url``, migrated to the latest schema."""
    from labelcheck.storage.database import Database

    db = Database(url)
    db.upgrade()
    return db


# --- db, users ----------------------------------------------------------------------
@click.group()
def db() -> None:
    """The database: schema migrations."""


@db.command("upgrade")
@click.option("--database-url", metavar="URL",
              help="SQLAlchemy URL. Default: the DATABASE_URL setting (SQLite labelcheck.db "
                   "in the instance folder).")
@_instance_option
@_errors
def db_upgrade(database_url: str | None, instance: Path | None) -> None:
    """Bring the database schema to the latest migration (safe to repeat)."""
    from alembic.runtime.migration import MigrationContext

    url = database_url or instance_settings(instance)[1]["DATABASE_URL"]
    database = open_database(url)
    with database.engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    click.echo(f"{redacted(url)}: schema at revision {revision} (latest)")


@click.group()
def users() -> None:
    """Accounts: create the first lead, and everyone else."""


@users.command("create")
@click.option("--email", required=True, help="Sign-in e-mail (unique, case-insensitive).")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="lead (everything), engineer (projects, items, exports) or annotator "
                   "(guideline).")
@click.option("--name", default="", help="Display name.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 8 characters. Asked twice, not echoed, when omitted (a password "
                   "given here stays in the shell history).")
@_instance_option
@_errors
def users_create(email: str, role: str, name: str, password: str, instance: Path | None) -> None:
    """Add a user who signs in with EMAIL and a password."""
    from labelcheck.web.auth import create_user

    email = email.strip()
    if "@" not in email or any(c.isspace() for c in email):
        raise click.BadParameter(f"{email!r} is not an e-mail address", param_hint="--email")
    url = instance_settings(instance)[1]["DATABASE_URL"]
    user_id = create_user(open_database(url), email, password, role, name=name)
    click.echo(f"created {role} {email.lower()} (user {user_id}) in {redacted(url)}")


# --- import-file, demo --------------------------------------------------------------
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _project_and_source(db: Database, project_name: str, path: Path, digest: str,
                        file_format: str | None, description: str,
                        user_id: int | None) -> tuple[int, int, bool, bool]:
    """The project of that name (the oldest) and its upload source named like the file,
    created when missing: ``(project_id, source_id, created, same_content)``, where
    ``same_content`` says the source's last successful import read the same bytes."""
    from sqlalchemy import select

    from labelcheck.storage.models import DataSource, Project

    with db.session() as session:
        project = session.execute(select(Project).where(Project.name == project_name)
                                  .order_by(Project.id)).scalars().first()
        created = project is None
        if project is None:
            project = Project(name=project_name, description=description, created_by_id=user_id)
            session.add(project)
            session.flush()
        source = session.execute(select(DataSource).where(
            DataSource.project_id == project.id, DataSource.kind == "upload",
            DataSource.name == path.name).order_by(DataSource.id)).scalars().first()
        if source is None:
            source = DataSource(project_id=project.id, kind="upload", name=path.name,
                                settings={"format": file_format or "detect", "sha256": None})
            session.add(source)
            session.flush()
        same = project.snapshot > 0 and (source.settings or {}).get("sha256") == digest
        return project.id, source.id, created, same


def _new_run(db: Database, project_id: int, kind: str, source_id: int | None,
             user_id: int | None) -> int:
    from labelcheck.storage.models import Run

    with db.session() as session:
        run = Run(project_id=project_id, source_id=source_id, kind=kind,
                  message="started from the command line", created_by_id=user_id)
        session.add(run)
        session.flush()
        return run.id


def _import(db: Database, project_id: int, source_id: int, path: Path, digest: str,
            file_format: str | None, user_id: int | None) -> None:
    """Run the import; echo its outcome and problems; raise ``InvalidInput`` if it failed."""
    from labelcheck import pipeline
    from labelcheck.errors import InputProblem, InvalidInput, LabelcheckError
    from labelcheck.storage.models import DataSource, Run

    run_id = _new_run(db, project_id, "import", source_id, user_id)
    started = time.monotonic()
    try:
        ok = pipeline.run_import(db, run_id, str(path), file_format).get("ok")
    except Exception as exc:  # recorded on the run; the pipeline printed the traceback
        raise LabelcheckError(f"import of {path} failed: {type(exc).__name__}: {exc}") from None
    with db.session() as session:
        run = session.get(Run, run_id)
        assert run is not None
        message, problems, n_problems = run.message, run.problems or [], run.n_problems
        if ok:
            source = session.get(DataSource, source_id)
            assert source is not None
            source.settings = dict(source.settings or {}, sha256=digest)
    listed = [InputProblem(**p) for p in problems]
    if not ok:
        raise InvalidInput(f"import of {path} failed: {message}",
                           [p for p in listed if str(p) != message])
    click.echo(f"  {message} ({time.monotonic() - started:.1f} s)")
    for problem in listed[:MAX_PROBLEMS_SHOWN]:
        click.echo(f"warning: {problem}", err=True)
    if n_problems > MAX_PROBLEMS_SHOWN:
        click.echo(f"warning: ... and {n_problems - MAX_PROBLEMS_SHOWN} more problem(s)", err=True)


def load_file(db: Database, project_name: str, path: Path, file_format: str | None, *,
              settings: dict[str, Any], description: str = "", user_id: int | None = None,
              skip_unchanged: bool = False) -> int:
    """Import ``path`` into the project named ``project_name`` (created when missing; the
    oldest of that name otherwise) and analyse it, synchronously.  The file is the
    project's data source of the same file name, so a re-import is a diff.  With
    ``skip_unchanged``, a file whose content was already imported writes nothing, not
    even a run record.  Returns the project id; raises ``InvalidInput`` when the import
    fails (a project created for it is deleted again)."""
    from sqlalchemy import delete

    from labelcheck import pipeline
    from labelcheck.errors import LabelcheckError
    from labelcheck.storage.models import Project

    digest = _sha256(path)
    project_id, source_id, created, same = _project_and_source(
        db, project_name, path, digest, file_format, description, user_id)
    if skip_unchanged and same and not pipeline.needs_analysis(db, project_id):
        click.echo(f"project {project_name!r}: {path.name} already imported, results ready")
        return project_id
    if not (skip_unchanged and same):
        click.echo(f"project {project_name!r}: importing {path} ...")
        try:
            _import(db, project_id, source_id, path, digest, file_format, user_id)
        except LabelcheckError:
            if created:  # leave things as they were: no empty project
                with db.session() as session:
                    session.execute(delete(Project).where(Project.id == project_id))
            raise
    run_id = _new_run(db, project_id, "analysis", None, user_id)
    started = time.monotonic()
    click.echo(f"project {project_name!r}: analysing ...")
    try:
        outcome = pipeline.run_analysis(db, run_id, n_boot=int(settings["BOOTSTRAP_RESAMPLES"]),
                                        confidence=float(settings["CONFIDENCE"]))
    except Exception as exc:  # recorded on the run; the pipeline printed the traceback
        raise LabelcheckError(f"analysis of project {project_name!r} failed: "
                              f"{type(exc).__name__}: {exc}") from None
    elapsed = time.monotonic() - started
    click.echo(f"  results for snapshot {outcome['snapshot']} ready ({elapsed:.1f} s)")
    return project_id


@click.command("import-file")
@click.argument("project_name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "file_format", type=click.Choice(FILE_FORMATS),
              help="Format of FILE. Default: recognised from the content.")
@_instance_option
@_errors
def import_file(project_name: str, file: Path, file_format: str | None,
                instance: Path | None) -> None:
    """Import FILE into project PROJECT_NAME (created if missing) and analyse it, now.

    Re-importing a file of the same name replaces its rows with a diff: unchanged rows
    are kept, so repeating the command adds nothing."""
    settings = instance_settings(instance)[1]
    load_file(open_database(settings["DATABASE_URL"]), project_name, file.resolve(), file_format,
              settings=settings)


def demo_export() -> tuple[Path, str, str]:
    """The bundled demo export, its project name and description."""
    for name, project, description in DEMO_EXPORTS:
        if (DEMO_DIR / name).is_file():
            return DEMO_DIR / name, project, description
    from labelcheck.errors import LabelcheckError

    raise LabelcheckError(f"no demo export in {DEMO_DIR}: expected one of "
                          + ", ".join(name for name, _, _ in DEMO_EXPORTS))


def demo_people() -> dict[str, dict[str, str]]:
    """``labelcheck/demo/annotators.json``: Label Studio user id -> e-mail and name."""
    path = DEMO_DIR / "annotators.json"
    if not path.is_file():
        return {}
    people: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return people


def demo_accounts(people: dict[str, dict[str, str]]) -> list[tuple[str, str, str]]:
    """(role, e-mail, name) of the demo users; the annotator is the demo's first annotator."""
    annotator = (DEMO_ANNOTATOR, "Demo annotator")
    for key in sorted(people, key=lambda k: (len(k), k)):
        if people[key].get("email"):
            annotator = (people[key]["email"], people[key].get("name") or people[key]["email"])
            break
    return [("lead", DEMO_LEAD, "Demo lead"), ("engineer", DEMO_ENGINEER, "Demo engineer"),
            ("annotator", *annotator)]


def demo_password(instance: Path) -> str:
    """The instance's demo password: made up on first use, kept in ``demo_password``
    (mode 600) so re-runs print the same one."""
    path = instance / DEMO_PASSWORD_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    instance.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password


def _ensure_demo_users(db: Database, accounts: list[tuple[str, str, str]], password: str) -> int:
    """Create the demo users, or give existing ones their demo role and password back;
    returns the lead's id.  The three share one password, so they share one hash (a
    password hash costs about 0.2 s: hashed once, checked once on a re-run)."""
    from sqlalchemy import func, select
    from werkzeug.security import check_password_hash, generate_password_hash

    from labelcheck.storage.models import User

    with db.session() as session:
        found = {u.email.lower(): u for u in session.execute(select(User).where(
            func.lower(User.email).in_([e.lower() for _, e, _ in accounts]))).scalars()}
        hashes = {u.password_hash for u in found.values()}
        current = next(iter(hashes)) if len(hashes) == 1 else None
        if current is None or not check_password_hash(current, password):
            current = generate_password_hash(password)
        ids = {}
        for role, email, name in accounts:
            user = found.get(email.lower())
            if user is None:
                user = User(email=email.lower(), name=name, role=role, password_hash=current)
                session.add(user)
            user.role, user.active, user.password_hash = role, True, current
            session.flush()
            ids[role] = user.id
    return ids["lead"]


def _reset_demo(db: Database, instance: Path, project: str,
                accounts: list[tuple[str, str, str]]) -> None:
    from sqlalchemy import delete, func

    from labelcheck.storage.models import Project, User

    with db.session() as session:
        session.execute(delete(Project).where(Project.name == project))
        emails = [email.lower() for _, email, _ in accounts]
        session.execute(delete(User).where(func.lower(User.email).in_(emails)))
    (instance / DEMO_PASSWORD_FILE).unlink(missing_ok=True)
    click.echo(f"deleted the project {project!r} and the demo users")


def _name_annotators(db: Database, project_id: int, people: dict[str, dict[str, str]]) -> None:
    from sqlalchemy import update

    from labelcheck.storage.models import Annotator

    with db.session() as session:
        for annotator_id, person in people.items():
            session.execute(update(Annotator).where(
                Annotator.project_id == project_id, Annotator.annotator_id == str(annotator_id)
            ).values(email=person.get("email"), name=person.get("name")))


@click.command()
@_instance_option
@click.option("--reset", is_flag=True,
              help="Delete the demo project and the demo users first, and make up a new demo "
                   "password.")
@_errors
def demo(instance: Path | None, reset: bool) -> None:
    """Load the bundled demo project and create demo users (safe to repeat)."""
    path, settings = instance_settings(instance)
    started = time.monotonic()
    database = open_database(settings["DATABASE_URL"])
    export, project, description = demo_export()
    people = demo_people()
    accounts = demo_accounts(people)
    if reset:
        _reset_demo(database, path, project, accounts)
    password = demo_password(path)
    lead_id = _ensure_demo_users(database, accounts, password)
    project_id = load_file(database, project, export, "labelstudio-json", settings=settings,
                           description=description, user_id=lead_id, skip_unchanged=True)
    _name_annotators(database, project_id, people)
    _demo_guideline(database, project_id, lead_id)
    elapsed = time.monotonic() - started
    click.echo(f"demo ready in {redacted(settings['DATABASE_URL'])} ({elapsed:.1f} s)")
    click.echo(f"demo sign-in (password kept in {path / DEMO_PASSWORD_FILE}):")
    for role, email, _ in accounts:
        click.echo(f"  {role:<10} {email:<40} {password}")


#: The demo guideline's versions: file, publication time, change note, labels it is about.
DEMO_GUIDELINE = (
    ("guideline_v1.md", "2025-02-28T17:00:00+00:00", "First version.", ()),
    ("guideline_v2.md", "2025-04-01T09:00:00+00:00",
     "Billing and Refund told apart by what the customer asks for, not by whether money is mentioned.",
     ("Billing", "Refund")),
)


def _demo_guideline(database: Any, project_id: int, lead_id: int | None) -> None:
    """Publish the demo's two guideline versions (once), at their historical times, with
    the revision's example tickets: refund requests that mention a charge."""
    import csv
    from datetime import datetime

    from labelcheck.storage import guidelines as store

    if store.versions(database, project_id):
        return
    with open(DEMO_DIR / "truth.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    examples = [r["task_id"] for r in rows if r["intent"] == "Refund" and r["mentions_charge"] == "1"][:2]
    examples += [r["task_id"] for r in rows if r["intent"] == "Billing" and r["mentions_charge"] == "1"][:1]
    for number, (name, at, note, labels) in enumerate(DEMO_GUIDELINE, 1):
        store.save_draft(database, project_id, lead_id, body=(DEMO_DIR / name).read_text(encoding="utf-8"),
                         note=note, targeted_labels=list(labels),
                         example_task_ids=examples if number > 1 else [])
        store.publish_draft(database, project_id, lead_id, created_at=datetime.fromisoformat(at))


# --- serve, worker ------------------------------------------------------------------
def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(0)  # waitress's loop closes the server on SystemExit


def _start_worker(instance: Path, stopping: threading.Event) -> subprocess.Popen[bytes]:
    """``labelcheck worker`` as a child in its own session (a Ctrl-C reaches ``serve``,
    which then stops the worker gracefully), watched for an unexpected exit."""
    command = [sys.executable, "-m", "labelcheck.cli", "worker", "--instance", str(instance)]
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True,
                            env=dict(os.environ, **{SERVE_PID_ENV: str(os.getpid())}))

    def watch() -> None:
        code = proc.wait()
        if not stopping.is_set():
            click.echo(f"warning: the worker (pid {proc.pid}) exited with code {code}; background "
                       "jobs will wait until `labelcheck worker` runs again", err=True)

    threading.Thread(target=watch, name="worker-watch", daemon=True).start()
    return proc


def _stop_worker(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (finish the running job), then SIGTERM, then SIGKILL."""
    for sig, grace in ((signal.SIGINT, WORKER_GRACE[0]), (signal.SIGTERM, WORKER_GRACE[1]),
                       (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(sig)
            proc.wait(grace)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def _port_error(host: str, port: int, exc: OSError) -> click.ClickException:
    if exc.errno == errno.EADDRINUSE:
        return click.ClickException(f"port {port} on {host} is already in use; stop the program "
                                    "listening there or choose another port with --port")
    return click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def _check_port(host: str, port: int) -> None:
    """Fail now if ``host:port`` cannot be bound (as waitress binds: SO_REUSEADDR)."""
    import socket

    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise _port_error(host, port, exc) from None


def _url(host: str, port: int) -> str:
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface; put an HTTPS proxy in front).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="Port; if it is taken, serve stops with an error rather than pick another.")
@click.option("--threads", type=click.IntRange(min=1), default=8, show_default=True,
              help="Requests served at once (waitress threads).")
@_instance_option
@click.option("--no-worker", is_flag=True,
              help="Start no worker (run `labelcheck worker` yourself, e.g. on another machine "
                   "with Redis).")
@_errors
def serve(host: str, port: int, threads: int, instance: Path | None, no_worker: bool) -> None:
    """Run the web app under waitress, with a background worker; Ctrl-C stops both."""
    started = time.monotonic()
    _check_port(host, port)  # before the slow start-up; the real bind below checks again
    path, settings = instance_settings(instance, export=True)
    import waitress

    from labelcheck.web import create_app

    app = create_app(instance_path=path)
    try:
        server = waitress.create_server(app, host=host, port=port, threads=threads)
    except OSError as exc:
        raise _port_error(host, port, exc) from None
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGINT too: `serve &` ignores it
        signal.signal(sig, _exit_on_signal)
    worker = None
    try:
        if not no_worker:
            worker = _start_worker(path, stopping)
        jobs = "Redis" if os.environ.get("LABELCHECK_REDIS_URL") or os.environ.get("REDIS_URL") \
            else f"SQLite queue {path / 'jobs.db'}"
        who = "no worker" if worker is None else f"worker pid {worker.pid}"
        click.echo(f"labelcheck {path}: database {redacted(settings['DATABASE_URL'])}, "
                   f"jobs {jobs}, {who}")
        if host in ("0.0.0.0", "::", ""):
            click.echo(f"listening on every interface, port {port}")
        if (path / DEMO_PASSWORD_FILE).exists():
            click.echo(f"demo sign-in: {DEMO_LEAD} / {demo_password(path)}")
        click.echo(f"labelcheck is running at {_url(host, port)} (ready in "
                   f"{time.monotonic() - started:.1f} s; Ctrl-C to stop)")
        sys.stdout.flush()
        server.run()  # returns after Ctrl-C or SIGTERM (SystemExit), closing the server
    finally:
        stopping.set()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        server.close()
        if worker is not None:
            click.echo(f"stopping the worker (pid {worker.pid})")
            _stop_worker(worker)
        click.echo("labelcheck stopped")


def _watch_parent(parent_pid: int) -> None:
    """Stop this worker (SIGTERM to itself) when ``serve``, its parent, is gone."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@click.command()
@_instance_option
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Jobs run at once (threads).")
@_errors
def worker(instance: Path | None, workers: int) -> None:
    """Run background jobs (imports, analyses) from the queue until Ctrl-C or SIGTERM."""
    import logging

    path, settings = instance_settings(instance, export=True)
    from labelcheck.jobs import huey, set_secret_key

    set_secret_key(str(settings["SECRET_KEY"]))

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s] worker %(levelname)s: %(message)s"))
    logger = logging.getLogger("huey")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    huey.immediate = False
    filename = getattr(huey.storage, "filename", None)
    queue = f"SQLite queue {filename}" if filename else "Redis"
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=False)
    parent = os.environ.get(SERVE_PID_ENV)
    if parent and parent.isdigit():
        _watch_parent(int(parent))
    click.echo(f"labelcheck worker: {workers} thread(s) on {queue} (instance {path})")
    sys.stdout.flush()
    consumer.run()


COMMANDS = (db, users, import_file, demo, serve, worker)
