"""The app's commands through click's CliRunner: ``db upgrade``, ``users create``,
``import-file`` and ``demo`` (``serve`` and ``worker`` run as real processes in
``tests/integration/test_serve.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, inspect, select
from werkzeug.security import check_password_hash

from labelcheck.cli import main
from labelcheck.commands import app as app_commands
from labelcheck.storage.database import Database, sqlite_url
from labelcheck.storage.models import Annotation, Annotator, Project, Run, User
from labelcheck.storage.models import Result as StoredResult

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LS_EXPORT = FIXTURES / "labelstudio" / "text_project.json"
README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty instance folder; settings from the environment cannot leak in, and the
    analysis uses few resamples (the CLI reads ``LABELCHECK_BOOTSTRAP_RESAMPLES``)."""
    for name in ("DATABASE_URL", "REDIS_URL", "LABELCHECK_DATABASE_URL", "LABELCHECK_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LABELCHECK_INSTANCE", str(tmp_path / "unused"))
    monkeypatch.setenv("LABELCHECK_BOOTSTRAP_RESAMPLES", "20")
    return tmp_path / "instance"


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def count(db: Database, model: type, *where: object) -> int:
    with db.session() as session:
        query = select(func.count()).select_from(model).where(*where)
        return int(session.execute(query).scalar_one())


# --- contracts kept in step ---------------------------------------------------------
def test_format_and_role_choices_match_the_library() -> None:
    from labelcheck.io import FILE_FORMATS
    from labelcheck.storage.models import ROLES

    assert app_commands.FILE_FORMATS == FILE_FORMATS
    assert set(app_commands.ROLES) == set(ROLES)


def test_every_setting_is_in_the_readme() -> None:
    from labelcheck.web.settings import SETTINGS

    section = README[README.index("## The web app"):]
    for setting in SETTINGS:
        assert f"`{setting.name}`" in section, f"setting {setting.name} is not in README.md"


def test_the_help_does_not_import_the_app() -> None:
    import subprocess
    import sys

    code = ("import sys; from labelcheck.cli import main; "
            "heavy = ('flask', 'sqlalchemy', 'pandas', 'waitress', 'huey'); "
            "print(','.join(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --- db upgrade ---------------------------------------------------------------------
def test_db_upgrade_creates_the_schema_and_is_repeatable(database_url: str, instance: Path) -> None:
    first = run("db", "upgrade", "--database-url", database_url)
    assert first.exit_code == 0, first.output
    assert "schema at revision" in first.output
    tables = set(inspect(Database(database_url).engine).get_table_names())
    assert {"user_account", "project", "annotation", "run", "alembic_version"} <= tables
    again = run("db", "upgrade", "--database-url", database_url)
    assert again.exit_code == 0 and again.output == first.output


def test_db_upgrade_defaults_to_sqlite_in_the_instance(instance: Path) -> None:
    result = run("db", "upgrade", "--instance", str(instance))
    assert result.exit_code == 0, result.output
    assert (instance / "labelcheck.db").is_file()


def test_db_upgrade_hides_the_password_of_the_url(instance: Path) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade", "--database-url",
                                       "postgresql+psycopg://u:hunter2@127.0.0.1:1/none"])
    assert result.exit_code == 1
    assert "hunter2" not in result.output
    assert result.output.startswith("Error: database:")


# --- users create -------------------------------------------------------------------
def test_users_create_asks_for_the_password_twice_and_never_echoes_it(instance: Path) -> None:
    result = run("users", "create", "--email", "Ana@Example.org", "--role", "lead", "--name", "Ana",
                 "--instance", str(instance), input="correct horse\ncorrect horse\n")
    assert result.exit_code == 0, result.output
    assert "correct horse" not in result.output
    assert "Repeat for confirmation" in result.output
    assert "created lead ana@example.org" in result.output
    db = Database(sqlite_url(instance))
    with db.session() as session:
        user = session.execute(select(User)).scalar_one()
        assert (user.email, user.role, user.name) == ("ana@example.org", "lead", "Ana")
        assert user.password_hash != "correct horse"
        assert check_password_hash(user.password_hash, "correct horse")


def test_users_create_refuses_a_short_password_and_a_taken_email(instance: Path) -> None:
    base = ["users", "create", "--role", "engineer", "--instance", str(instance)]
    assert run(*base, "--email", "ana@example.org", "--password", "first password").exit_code == 0
    short = CliRunner().invoke(main, [*base, "--email", "bob@example.org", "--password", "short"])
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    taken = CliRunner().invoke(main, [*base, "--email", "ANA@example.org",
                                      "--password", "long enough"])
    assert taken.exit_code == 1 and "already exists" in taken.output
    assert "Traceback" not in short.output + taken.output


def test_users_create_checks_role_and_email(instance: Path) -> None:
    bad_role = CliRunner().invoke(main, ["users", "create", "--email", "a@b.c", "--role", "admin",
                                         "--password", "x" * 8, "--instance", str(instance)])
    assert bad_role.exit_code == 2 and "admin" in bad_role.output
    bad_email = CliRunner().invoke(main, ["users", "create", "--email", "nobody", "--role", "lead",
                                          "--password", "x" * 8, "--instance", str(instance)])
    assert bad_email.exit_code == 2 and "not an e-mail address" in bad_email.output


# --- import-file --------------------------------------------------------------------
def test_import_file_imports_analyses_and_adds_nothing_the_second_time(instance: Path) -> None:
    first = run("import-file", "Sentiment", str(LS_EXPORT), "--instance", str(instance))
    assert first.exit_code == 0, first.output
    assert "imported: 14 added" in first.output
    db = Database(sqlite_url(instance))
    assert count(db, Project) == 1 and count(db, Annotation) == 14
    with db.session() as session:
        project = session.execute(select(Project)).scalar_one()
        statuses = session.execute(select(Run.kind, Run.status).order_by(Run.id)).all()
        assert project.snapshot == 1
        stored = session.execute(select(StoredResult.kind).where(
            StoredResult.project_id == project.id, StoredResult.snapshot == 1)).scalars().all()
        assert "overview" in stored
    assert [tuple(s) for s in statuses] == [("import", "succeeded"), ("analysis", "succeeded")]

    again = run("import-file", "Sentiment", str(LS_EXPORT), "--format", "labelstudio-json",
                "--instance", str(instance))
    assert again.exit_code == 0, again.output
    assert "nothing changed: 0 added, 0 updated, 0 removed, 14 unchanged" in again.output
    assert count(db, Project) == 1 and count(db, Annotation) == 14
    with db.session() as session:
        assert session.execute(select(Project.snapshot)).scalar_one() == 1


def test_import_file_reports_row_problems_and_keeps_the_good_rows(instance: Path) -> None:
    path = FIXTURES / "labelstudio" / "missing_keys.json"
    result = CliRunner().invoke(main, ["import-file", "P", str(path), "--instance", str(instance)])
    assert result.exit_code == 0, result.output
    assert re.search(r"^warning: missing_keys\.json, row 1: ", result.stderr, re.M)


def test_a_failed_first_import_leaves_no_project(instance: Path) -> None:
    path = FIXTURES / "labelstudio" / "bad_json.json"
    result = CliRunner().invoke(main, ["import-file", "Broken", str(path),
                                       "--instance", str(instance)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: import of ")
    assert "bad_json.json: not valid JSON" in result.stderr
    assert count(Database(sqlite_url(instance)), Project) == 0


# --- demo ---------------------------------------------------------------------------
def _password(output: str) -> str:
    match = re.search(rf"lead\s+{re.escape(app_commands.DEMO_LEAD)}\s+(\S+)", output)
    assert match, output
    return match.group(1)


@pytest.mark.slow
def test_demo_loads_the_project_and_users_once(instance: Path) -> None:
    first = run("demo", "--instance", str(instance))
    assert first.exit_code == 0, first.output
    password = _password(first.output)
    assert (instance / app_commands.DEMO_PASSWORD_FILE).read_text().strip() == password
    assert (instance / app_commands.DEMO_PASSWORD_FILE).stat().st_mode & 0o077 == 0
    db = Database(sqlite_url(instance))
    export, name, _ = app_commands.demo_export()
    people = app_commands.demo_people()
    accounts = app_commands.demo_accounts(people)

    def state() -> tuple[int, ...]:
        return (count(db, Project), count(db, User), count(db, Annotation), count(db, Run),
                count(db, StoredResult))

    loaded = state()
    assert loaded[:2] == (1, 3) and loaded[2] > 1000
    with db.session() as session:
        project = session.execute(select(Project)).scalar_one()
        assert project.name == name and project.snapshot == 1
        users = {u.email: u for u in session.execute(select(User)).scalars()}
        assert {email: users[email].role for _, email, _ in accounts} == {
            email: role for role, email, _ in accounts}
        assert all(check_password_hash(u.password_hash, password) for u in users.values())
        named = dict(session.execute(select(Annotator.annotator_id, Annotator.email)).all())
    if people:  # the demo's annotators carry their e-mail, and the annotator user is one of them
        assert named == {key: person["email"] for key, person in people.items() if key in named}
        assert accounts[2][1] in named.values()

    again = run("demo", "--instance", str(instance))
    assert again.exit_code == 0, again.output
    assert "already imported, results ready" in again.output
    assert _password(again.output) == password
    assert state() == loaded


@pytest.mark.slow
def test_demo_reset_starts_afresh_with_a_new_password(instance: Path) -> None:
    first = run("demo", "--instance", str(instance))
    assert first.exit_code == 0, first.output
    db = Database(sqlite_url(instance))
    before = (count(db, Project), count(db, User), count(db, Annotation))
    reset = run("demo", "--instance", str(instance), "--reset")
    assert reset.exit_code == 0, reset.output
    assert "deleted the project" in reset.output
    assert _password(reset.output) != _password(first.output)
    assert (count(db, Project), count(db, User), count(db, Annotation)) == before
    assert count(db, Run) == 2  # the first runs went with the old project


def test_demo_falls_back_to_the_older_export(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setattr(app_commands, "DEMO_DIR", tmp_path)
    (tmp_path / "demo_export.json").write_text("[]")
    assert app_commands.demo_export()[0] == tmp_path / "demo_export.json"
    (tmp_path / "support_tickets.json").write_text("[]")
    assert app_commands.demo_export()[0] == tmp_path / "support_tickets.json"
    fallback = ("annotator", app_commands.DEMO_ANNOTATOR, "Demo annotator")
    assert app_commands.demo_accounts({})[2] == fallback
