"""Small hand-made canonical tables, each showing one situation."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest

from labelcheck import table as T
from tests.support import skip_or_fail

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.support.label_studio import LabelStudioServer
    from tests.support.postgres import PostgresCluster


def pytest_configure(config: pytest.Config) -> None:
    """Keep the job queue's default SQLite file (``labelcheck.jobs`` opens it at import)
    out of the checkout: tests that don't pass an instance folder share a temporary one."""
    import os
    import tempfile

    os.environ.setdefault("LABELCHECK_INSTANCE", tempfile.mkdtemp(prefix="labelcheck-tests-"))


def make_table(
    rows: Iterable[Sequence[Any]], field: str = "label", **extra: Sequence[Any]
) -> pd.DataFrame:
    """Canonical table from (task_id, annotator_id, label) triples."""
    rows = list(rows)
    frame = pd.DataFrame(rows, columns=[T.TASK_ID, T.ANNOTATOR_ID, T.LABEL])
    frame[T.FIELD] = field
    frame[T.ANNOTATION_ID] = [f"a{i}" for i in range(1, len(frame) + 1)]
    frame[T.SOURCE] = "fixture"
    frame[T.SOURCE_ROW] = range(1, len(frame) + 1)
    for name, values in extra.items():
        frame[name] = list(values)
    return T.from_records(frame)


def from_matrix(matrix: Sequence[Sequence[Any]], field: str = "label") -> pd.DataFrame:
    """Canonical table from reliability data: one row per annotator, one column per
    task, None for a missing answer (Krippendorff's layout)."""
    rows = [
        (f"t{j + 1}", f"r{i + 1}", v)
        for i, annotator_row in enumerate(matrix)
        for j, v in enumerate(annotator_row)
        if v is not None
    ]
    return make_table(rows, field=field)


@pytest.fixture
def full_agreement() -> pd.DataFrame:
    """Three annotators agree on every task; two categories in use."""
    return from_matrix([["x", "y", "x", "y"]] * 3)


@pytest.fixture
def one_dissenter() -> pd.DataFrame:
    """r3 disagrees with r1 and r2 on task t2 only."""
    return from_matrix([["x", "y", "x", "y"], ["x", "y", "x", "y"], ["x", "x", "x", "y"]])


@pytest.fixture
def missing_answers() -> pd.DataFrame:
    """Unequal numbers of answers per task, one task with a single answer."""
    return from_matrix(
        [["x", "y", None, "z"], ["x", None, "y", "z"], [None, "y", "y", None]]
    )


@pytest.fixture
def ordinal_near_misses() -> pd.DataFrame:
    """Ratings 1-5 where disagreements are one step apart."""
    return from_matrix([[1, 2, 3, 4, 5], [1, 3, 3, 5, 5], [2, 2, 4, 4, 5]])


# -- real servers: PostgreSQL, browser, Label Studio (tests/support) -------------------
# Missing binaries skip these fixtures locally and fail them under CI=true.


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster on a free loopback port, shared by the session."""
    from tests.support.postgres import PostgresCluster, PostgresUnavailable

    cluster = PostgresCluster()
    try:
        cluster.start()
    except PostgresUnavailable as exc:
        skip_or_fail(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.integration),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty database: a SQLite file in ``tmp_path``, or a new
    database in the session's PostgreSQL cluster (dropped after the test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/labelcheck.db"
        return
    cluster = request.getfixturevalue("postgres_cluster")
    name = f"test_{uuid.uuid4().hex[:16]}"
    url = cluster.new_database(name)
    try:
        yield url
    finally:
        cluster.drop_database(name)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium (Debian's package, driven by Playwright), shared by the session."""
    from tests.support.browser import BrowserUnavailable, check_available, chromium

    try:
        check_available()
    except BrowserUnavailable as exc:
        skip_or_fail(str(exc))
    with chromium() as started:
        yield started


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in its own browser context (fresh cookies and storage) for one test."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def label_studio() -> Iterator[LabelStudioServer]:
    """A throwaway Label Studio server (fresh data dir, known admin and legacy token) on a
    free loopback port, shared by the session; installed once per machine if missing."""
    from tests.support.label_studio import LabelStudioError, LabelStudioServer, LabelStudioUnavailable

    server = LabelStudioServer()
    try:
        server.start()
    except (LabelStudioUnavailable, LabelStudioError) as exc:
        skip_or_fail(f"Label Studio cannot be started: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ls_small_project(label_studio: LabelStudioServer) -> tuple[int, list[int]]:
    """``(project_id, annotator_ids)``: 60 seeded tasks, each annotated by the same 3
    annotators (two cancelled annotations), in the session's Label Studio.  Tests must not
    change it."""
    from tests.support.label_studio import create_annotators, seed_project

    client = label_studio.client()
    annotators = create_annotators(client, 3)
    return seed_project(client, 60, annotators, seed=1, title="labelcheck small project"), annotators
