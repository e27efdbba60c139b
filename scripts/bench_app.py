"""Benchmarks of the app's storage and pages (called by ``scripts/bench.py --app``).

Storage: import of N annotations into a fresh project (SQLite file, and a throwaway
PostgreSQL cluster), a re-import of the same data (idempotent: nothing written), and the
load back into the canonical table; each next to the reference, pandas'
``DataFrame.to_sql`` / ``read_sql`` of the same rows on the same database.
Target (issue 4): 1M annotations in and out in under 30 s each.

Pages: a project of N annotations in SQLite, analysed, served by waitress on loopback;
two client threads request the overview, the item browser (plain and filtered) and
item pages; p50/p95 per page.  Target: p95 under 200 ms at 1M annotations.
"""

from __future__ import annotations

import http.cookiejar
import re
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

STORAGE_TARGET_S = 30.0
PAGE_TARGET_MS = 200.0


def app_dataset(n_rows: int, seed: int = 0) -> Any:
    """A Dataset like a real export: bench_data's labels plus times, lead times, rows,
    and a task table with slice metadata and a text."""
    from bench_data import canonical_direct, raw_frame

    from labelcheck import table as T

    frame = canonical_direct(raw_frame(n_rows, seed))
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01T08:00:00Z").value
    frame[T.CREATED_AT] = pd.to_datetime(start + rng.integers(0, 60 * 86400, n_rows) * 10**9, utc=True)
    frame[T.UPDATED_AT] = frame[T.CREATED_AT]
    frame[T.LEAD_TIME] = rng.gamma(2.0, 15.0, n_rows).round(1)
    frame[T.SOURCE_ROW] = pd.array(np.arange(1, n_rows + 1), dtype="Int64")
    frame[T.SOURCE] = pd.Categorical(["bench.json"] * n_rows)
    task_ids = pd.unique(frame[T.TASK_ID])
    n_tasks = len(task_ids)
    tasks = pd.DataFrame({
        T.TASK_ID: task_ids,
        "text": [f"Ticket {i}: something about an order and a charge" for i in range(n_tasks)],
        "channel": rng.choice(["email", "chat", "phone", "web"], n_tasks),
        "language": rng.choice(["en", "de", "fr", "es"], n_tasks),
    })
    return T.Dataset(frame, tasks, {"label": T.FieldSpec("label")}, T.ImportReport(source="bench.json"))


def _project(db: Any) -> tuple[int, int]:
    from labelcheck.storage.models import DataSource, Project

    with db.session() as session:
        project = Project(name="bench")
        session.add(project)
        session.flush()
        source = DataSource(project_id=project.id, kind="upload", name="bench.json")
        session.add(source)
        session.flush()
        return project.id, source.id


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_storage_on(url: str, dataset: Any) -> dict[str, float]:
    from labelcheck.storage.annotations import import_dataset, load_dataset, storage_frame
    from labelcheck.storage.database import Database

    db = Database(url)
    db.upgrade()
    project_id, source_id = _project(db)
    t_import, counts = _timed(lambda: import_dataset(db, project_id, source_id, dataset))
    assert counts.added == len(dataset.annotations)
    t_reimport, again = _timed(lambda: import_dataset(db, project_id, source_id, dataset))
    assert again.unchanged == len(dataset.annotations) and not again.changed
    t_load, back = _timed(lambda: load_dataset(db, project_id))
    assert len(back.annotations) == len(dataset.annotations)
    # reference: pandas to_sql / read_sql of the same stored columns, no indexes
    rows = storage_frame(dataset.annotations)
    t_ref_in, _ = _timed(lambda: rows.to_sql("pandas_reference", db.engine, index=False,
                                             chunksize=100_000, method=None))
    t_ref_out, _ = _timed(lambda: pd.read_sql("SELECT * FROM pandas_reference", db.engine))
    db.dispose()
    return {"import_s": t_import, "reimport_s": t_reimport, "load_s": t_load,
            "pandas_to_sql_s": t_ref_in, "pandas_read_sql_s": t_ref_out}


def bench_storage(n_rows: int, backends: tuple[str, ...] = ("sqlite", "postgresql")) -> dict[str, Any]:
    dataset = app_dataset(n_rows)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in backends:
            out["sqlite"] = bench_storage_on(f"sqlite:///{tmp}/bench.db", dataset)
        if "postgresql" in backends:
            from tests.support.postgres import PostgresCluster

            with PostgresCluster() as cluster:
                out["postgresql"] = bench_storage_on(cluster.url, dataset)
    return out


def print_storage(n_rows: int, results: dict[str, Any]) -> None:
    print(f"\n== storage, {n_rows:,} annotations (target: in and out < {STORAGE_TARGET_S:.0f} s each)")
    print(f"{'database':<11}{'import':>9}{'re-import':>11}{'load':>8}{'to_sql':>9}{'read_sql':>10}"
          f"{'import/to_sql':>15}{'load/read_sql':>15}  target")
    for name, r in results.items():
        ok = r["import_s"] < STORAGE_TARGET_S and r["load_s"] < STORAGE_TARGET_S
        print(f"{name:<11}{r['import_s']:>8.1f}s{r['reimport_s']:>10.1f}s{r['load_s']:>7.1f}s"
              f"{r['pandas_to_sql_s']:>8.1f}s{r['pandas_read_sql_s']:>9.1f}s"
              f"{r['import_s'] / r['pandas_to_sql_s']:>14.2f}x{r['load_s'] / r['pandas_read_sql_s']:>14.2f}x"
              f"  {'met' if ok else 'MISSED'}")


# --- pages ---------------------------------------------------------------------------
class _Client:
    """A signed-in browser-less client (cookies kept) for the load run."""

    def __init__(self, base: str, email: str, password: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = self.get("/login")[1]
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        data = {"email": email, "password": password, "csrf_token": token.group(1) if token else ""}
        self.opener.open(base + "/login", urllib.parse.urlencode(data).encode()).read()

    def get(self, path: str) -> tuple[int, str]:
        with self.opener.open(self.base + path) as response:
            return response.status, response.read().decode()


def bench_pages(n_rows: int, n_requests: int = 200, threads: int = 2) -> dict[str, Any]:
    from labelcheck import pipeline
    from labelcheck.storage.annotations import import_dataset
    from labelcheck.storage.models import Run
    from labelcheck.web import create_app
    from labelcheck.web.auth import create_user
    from tests.support.live_server import LiveServer

    dataset = app_dataset(n_rows)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"JOBS_IMMEDIATE": True}, instance_path=tmp)
        db = app.extensions["labelcheck.db"]
        create_user(db, "lead@bench", "bench-password", "lead")
        project_id, source_id = _project(db)
        t_import, _ = _timed(lambda: import_dataset(db, project_id, source_id, dataset))
        with db.session() as session:
            run = Run(project_id=project_id, kind="analysis")
            session.add(run)
            session.flush()
            run_id = run.id
        t_analysis, _ = _timed(lambda: pipeline.run_analysis(db, run_id, n_boot=1000))
        tasks = dataset.tasks["task_id"].to_numpy()
        annotator = str(dataset.annotations["annotator_id"].iloc[0])
        paths = {
            "overview": lambda i: f"/projects/{project_id}",
            "items": lambda i: f"/projects/{project_id}/items?page={1 + i % 20}",
            "items filtered": lambda i: (f"/projects/{project_id}/items?annotator={annotator}"
                                         f"&slice=channel:phone&page={1 + i % 5}"),
            "item": lambda i: f"/projects/{project_id}/items/{tasks[(i * 7919) % len(tasks)]}",
        }
        timings: dict[str, list[float]] = {name: [] for name in paths}
        with LiveServer(app, threads=4) as server:
            clients = [_Client(server.url, "lead@bench", "bench-password") for _ in range(threads)]
            for name, path in paths.items():  # warm-up: first request of each page
                clients[0].get(path(0))

            def worker(k: int) -> None:
                for i in range(k, n_requests, threads):
                    for name, path in paths.items():
                        t0 = time.perf_counter()
                        status, _ = clients[k].get(path(i))
                        timings[name].append((time.perf_counter() - t0) * 1000)
                        assert status == 200

            pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
        db.dispose()
    out: dict[str, Any] = {"import_s": t_import, "analysis_s": t_analysis, "pages": {}}
    for name, values in timings.items():
        arr = np.asarray(values)
        out["pages"][name] = {"n": len(arr), "p50_ms": float(np.percentile(arr, 50)),
                              "p95_ms": float(np.percentile(arr, 95)), "max_ms": float(arr.max())}
    return out


def print_pages(n_rows: int, results: dict[str, Any]) -> None:
    print(f"\n== pages, {n_rows:,} annotations, SQLite, waitress on loopback, 2 client threads "
          f"(target p95 < {PAGE_TARGET_MS:.0f} ms)")
    print(f"import {results['import_s']:.1f} s, analysis {results['analysis_s']:.1f} s")
    print(f"{'page':<16}{'requests':>9}{'p50':>9}{'p95':>9}{'max':>9}  target")
    for name, r in results["pages"].items():
        print(f"{name:<16}{r['n']:>9}{r['p50_ms']:>7.0f}ms{r['p95_ms']:>7.0f}ms{r['max_ms']:>7.0f}ms"
              f"  {'met' if r['p95_ms'] < PAGE_TARGET_MS else 'MISSED'}")


def bench_hotspots(n_rows: int) -> dict[str, Any]:
    """The analysis job's hotspot stage (every hotspot kind plus the suggestion evidence of
    the top label pairs) on one field of N annotations: the work a project's analysis adds
    for "what to fix first".  Target (issue 7): under 30 s at 1M."""
    from labelcheck.analysis.hotspots import project_hotspots

    dataset = app_dataset(n_rows)
    fields = [{"name": "label", "level": "nominal", "value_type": "choice", "analysed": True}]
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    out = project_hotspots(dataset, fields, progress=lambda f, m: stages.setdefault(m, time.perf_counter() - t0))
    seconds = time.perf_counter() - t0
    report = out["label"]
    return {"seconds": seconds, "hotspots": len(report.get("hotspots", [])),
            "pairs_with_evidence": len(report.get("pairs", {}))}


def print_hotspots(n_rows: int, results: dict[str, Any]) -> None:
    verdict = "met" if results["seconds"] < 30 else "MISSED"
    print(f"\n== hotspot analysis, {n_rows:,} annotations (target: < 30 s)")
    print(f"{results['seconds']:.1f} s for {results['hotspots']} hotspots and "
          f"{results['pairs_with_evidence']} label pairs' suggestion evidence: {verdict}")


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("size", nargs="?", default="100000", help="annotations (default 100000)")
    p.add_argument("--backends", default="sqlite,postgresql", help="storage backends to measure")
    p.add_argument("--no-storage", action="store_true", help="skip the storage benchmark")
    p.add_argument("--no-pages", action="store_true", help="skip the page load run")
    p.add_argument("--no-hotspots", action="store_true", help="skip the hotspot analysis run")
    p.add_argument("--requests", type=int, default=200, help="requests per page in the load run")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)
    n_rows = int(float(args.size))
    results: dict[str, Any] = {"size": n_rows}
    if not args.no_storage:
        results["storage"] = bench_storage(n_rows, tuple(args.backends.split(",")))
        print_storage(n_rows, results["storage"])
    if not args.no_pages:
        results["pages"] = bench_pages(n_rows, n_requests=args.requests)
        print_pages(n_rows, results["pages"])
    if not args.no_hotspots:
        results["hotspots"] = bench_hotspots(n_rows)
        print_hotspots(n_rows, results["hotspots"])
    try:
        import os

        results["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        print(f"\n(load average at the end: {results['loadavg_at_end']}; 2 cores)")
    except OSError:
        pass
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
