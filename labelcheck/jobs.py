"""Background jobs on Huey: a SQLite queue in the instance folder by default, Redis when
``REDIS_URL`` is set.  ``labelcheck worker`` (started by ``labelcheck serve``) consumes
them; with ``JOBS_IMMEDIATE`` (tests) they run inline.

The tasks are thin: they open the database named by URL and call
:mod:`labelcheck.pipeline`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey

from labelcheck.storage.database import Database


def make_huey() -> Huey:
    redis_url = os.environ.get("LABELCHECK_REDIS_URL") or os.environ.get("REDIS_URL")
    if redis_url:
        return RedisHuey("labelcheck", url=redis_url)
    from labelcheck.web.settings import default_instance_path

    folder = default_instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("labelcheck", filename=str(folder / "jobs.db"))


huey = make_huey()

#: The app's SECRET_KEY, set by ``create_app`` and ``labelcheck worker``; jobs that
#: decrypt a stored API key use it (it is never put in a job's arguments, which the
#: queue stores in clear).
_secret_key: str | None = None


def set_secret_key(key: str) -> None:
    global _secret_key
    _secret_key = key


def secret_key() -> str:
    if _secret_key:
        return _secret_key
    from labelcheck.web.settings import default_instance_path, load_settings

    return str(load_settings(default_instance_path())["SECRET_KEY"])


@lru_cache(maxsize=8)
def database(url: str) -> Database:
    """One engine per database URL and process."""
    return Database(url)


@huey.task()
def import_upload(database_url: str, run_id: int, path: str, file_format: str | None,
                  analysis_run_id: int | None, n_boot: int, confidence: float) -> dict[str, Any]:
    from labelcheck import pipeline

    db = database(database_url)
    outcome = pipeline.run_import(db, run_id, path, file_format)
    _then_analyse(db, outcome, analysis_run_id, n_boot, confidence, "import")
    return outcome


@huey.task()
def sync_labelstudio(database_url: str, run_id: int, analysis_run_id: int | None, n_boot: int,
                     confidence: float) -> dict[str, Any]:
    from labelcheck import pipeline

    db = database(database_url)
    outcome = pipeline.run_sync(db, run_id, secret_key())
    _then_analyse(db, outcome, analysis_run_id, n_boot, confidence, "sync")
    return outcome


def _then_analyse(db: Database, outcome: dict[str, Any], analysis_run_id: int | None, n_boot: int,
                  confidence: float, what: str) -> None:
    """Run the analysis queued behind an import or sync, or mark it failed with why."""
    from labelcheck import pipeline

    if analysis_run_id is None:
        return
    if outcome.get("ok"):
        pipeline.run_analysis(db, analysis_run_id, n_boot=n_boot, confidence=confidence)
    else:
        pipeline.update_run(db, analysis_run_id, status="failed", progress=1.0,
                            message=f"not run: the {what} failed")


@huey.task()
def analyse_project(database_url: str, run_id: int, n_boot: int, confidence: float) -> dict[str, Any]:
    from labelcheck import pipeline

    return pipeline.run_analysis(database(database_url), run_id, n_boot=n_boot, confidence=confidence)


@huey.task()
def export_dataset(database_url: str, run_id: int, export_id: int, folder: str) -> dict[str, Any]:
    from labelcheck import pipeline

    return pipeline.run_export(database(database_url), run_id, export_id, folder)
