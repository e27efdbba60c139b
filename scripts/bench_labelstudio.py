#!/usr/bin/env python
"""Speed and memory of labelcheck's Label Studio pull against Label Studio's own export,
on a real server in the same run (called by ``scripts/bench.py --labelstudio``).

Usage::

    .venv/bin/python scripts/bench_labelstudio.py                 # 20,000 tasks x 3 annotations
    .venv/bin/python scripts/bench_labelstudio.py 5000 --repeats 3 --json ls.json

A throwaway Label Studio (``tests/support/label_studio.py``: fresh data dir, SQLite, free
loopback port) is seeded with N tasks of the demo label config, each annotated by 3
annotators.  Then, taking turns so that neither side gets a warmer server:

* **export**: Label Studio's own JSON export as a client does it with plain SDK calls:
  create a snapshot, poll until it is built, download it to a file (1 MiB chunks);
* **pull**: :func:`labelcheck.labelstudio.pull_project` (connection check, the same
  snapshot route, streamed parse into the canonical table, the users' e-mails);

each the best of ``--repeats``.  Then one pull followed by
:func:`labelcheck.storage.annotations.import_dataset` into a fresh SQLite database, and
the memory of a pull measured in a fresh Python process (so the seeding's allocations
do not hide it): the peak-RSS increase of an untraced pull (``VmHWM`` reset at its
start; the ``ru_maxrss`` increase is recorded too, but a child inherits its parent's
peak across ``fork`` + ``exec``), then the ``tracemalloc`` peak of a second, traced one.

Targets (printed met / MISSED, also in ``--json``):

* pull time <= 1.2 x export time;
* peak Python memory of the pull (tracemalloc) < 2 x the export file's size.

The script measures; it exits 0 even when a target fails, unless ``--check`` is given.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TIME_TARGET = 1.2
MEMORY_TARGET = 2.0
CHUNK = 1 << 20
#: How the child process that measures memory gets the API key (not on its command line).
KEY_ENV = "LABELCHECK_BENCH_LS_KEY"
MB = 1e6


# --- the two routes ------------------------------------------------------------------
def ls_export(client: Any, project_id: int, path: Path) -> int:
    """Label Studio's own export: snapshot, poll, download to ``path``; returns bytes."""
    exports = client.projects.exports
    snapshot = exports.create(project_id, title=f"bench export {secrets.token_hex(4)}")
    delay = 0.2
    while str(snapshot.status) not in ("completed", "failed"):
        time.sleep(delay)
        delay = min(delay * 1.5, 5.0)
        snapshot = exports.get(project_id, snapshot.id)
    if str(snapshot.status) != "completed":
        raise RuntimeError(f"Label Studio failed to build export {snapshot.id}")
    with open(path, "wb") as out:
        for chunk in exports.download(project_id, snapshot.id, export_type="JSON",
                                      request_options={"chunk_size": CHUNK}):
            out.write(chunk)
    exports.delete(project_id, snapshot.id)
    return path.stat().st_size


def pull(url: str, project_id: int, key: str) -> Any:
    from labelcheck.labelstudio import LabelStudioConnection, pull_project

    return pull_project(LabelStudioConnection(url, project_id, key))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def pull_and_import(url: str, project_id: int, key: str) -> dict[str, Any]:
    """One pull, then ``import_dataset`` into a fresh SQLite database (schema by the
    migrations, not timed)."""
    from labelcheck.storage.annotations import import_dataset
    from labelcheck.storage.database import Database
    from labelcheck.storage.models import DataSource, Project

    with tempfile.TemporaryDirectory(prefix="labelcheck-bench-ls-") as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        with db.session() as session:
            project = Project(name="bench")
            session.add(project)
            session.flush()
            source = DataSource(project_id=project.id, kind="labelstudio", name="Label Studio",
                                settings={"base_url": url, "project_id": project_id})
            session.add(source)
            session.flush()
            ids = project.id, source.id
        t_pull, pulled = timed(lambda: pull(url, project_id, key))
        t_import, counts = timed(lambda: import_dataset(db, *ids, pulled.dataset,
                                                        annotator_emails=pulled.annotator_emails))
        db.dispose()
    return {"pull_s": t_pull, "import_s": t_import, "total_s": t_pull + t_import,
            "rows_added": counts.added}


# --- memory, in a child process ------------------------------------------------------
def _maxrss_bytes() -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _status_bytes(key: str) -> int | None:
    """``VmRSS`` / ``VmHWM`` of this process from ``/proc/self/status`` (Linux), in bytes."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return None


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child_memory(url: str, project_id: int) -> dict[str, Any]:
    """Run in a fresh process: the peak-RSS increase of one pull, then the
    ``tracemalloc`` peak of another.

    ``ru_maxrss`` survives ``fork`` + ``exec`` on Linux (a child starts with its parent's
    peak, here the seeding's), so its increase is often 0 and is reported for the record
    only; the figure used is ``VmHWM`` after resetting it at the start of the pull."""
    import label_studio_sdk  # noqa: F401  (imports are not the pull's memory)
    from label_studio_sdk import LabelStudio  # noqa: F401

    import labelcheck.io.labelstudio_export  # noqa: F401
    import labelcheck.labelstudio  # noqa: F401

    key = os.environ[KEY_ENV]
    gc.collect()
    maxrss_before = _maxrss_bytes()
    rss_before = _status_bytes("VmRSS")
    reset = _reset_peak_rss()
    pulled = pull(url, project_id, key)
    hwm = _status_bytes("VmHWM")
    out: dict[str, Any] = {
        "ru_maxrss_delta_bytes": _maxrss_bytes() - maxrss_before,
        "rss_before_bytes": rss_before,
        "rss_peak_delta_bytes": (hwm - rss_before) if reset and hwm is not None and rss_before is not None
        else None,
        "rows": len(pulled.dataset.annotations),
    }
    del pulled
    gc.collect()
    tracemalloc.start()
    pulled = pull(url, project_id, key)
    out["tracemalloc_peak_bytes"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out["rows_traced"] = len(pulled.dataset.annotations)
    return out


def measure_memory(url: str, project_id: int, key: str) -> dict[str, Any]:
    env = dict(os.environ, **{KEY_ENV: key})
    done = subprocess.run([sys.executable, __file__, "--_child-memory", url, str(project_id)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --- the run -------------------------------------------------------------------------
def bench(n_tasks: int, n_annotators: int = 3, repeats: int = 2,
          log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)) -> dict[str, Any]:
    from tests.support.label_studio import LabelStudioServer, _get, create_annotators, seed_project

    out: dict[str, Any] = {"n_tasks": n_tasks, "n_annotators": n_annotators, "repeats": repeats,
                           "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                                       "platform": platform.platform()}}
    log("starting Label Studio (about 30 s on a fresh data dir)")
    t0 = time.perf_counter()
    with LabelStudioServer() as server, tempfile.TemporaryDirectory(prefix="labelcheck-bench-ls-") as tmp:
        out["server"] = {"start_s": time.perf_counter() - t0,
                         "version": _version(_get(f"{server.url}/api/version"))}
        client = server.client()
        log(f"seeding {n_tasks:,} tasks x {n_annotators} annotations")
        annotators = create_annotators(client, n_annotators, prefix="bench")
        out["seed_s"], project_id = timed(lambda: seed_project(client, n_tasks, annotators, seed=0,
                                                               title=f"bench {n_tasks}"))
        key, url = server.legacy_token, server.url
        export_runs: list[float] = []
        pull_runs: list[float] = []
        pulled: Any = None
        export_path = Path(tmp) / "export.json"
        for i in range(1, repeats + 1):
            log(f"run {i}/{repeats}: Label Studio export")
            seconds, out["export_bytes"] = timed(lambda: ls_export(client, project_id, export_path))
            export_runs.append(seconds)
            log(f"run {i}/{repeats}: pull_project")
            seconds, pulled = timed(lambda: pull(url, project_id, key))
            pull_runs.append(seconds)
        best = min(range(repeats), key=lambda k: pull_runs[k])
        out["export"] = {"best_s": min(export_runs), "runs_s": export_runs}
        out["pull"] = {"best_s": pull_runs[best], "runs_s": pull_runs, "method": pulled.method,
                       "export_bytes": pulled.export_bytes, "timings_last": pulled.timings,
                       "tasks": pulled.dataset.report.n_records,
                       "annotations": pulled.dataset.report.n_annotations,
                       "rows": len(pulled.dataset.annotations)}
        del pulled
        log("pull + import_dataset into SQLite")
        out["pull_import_sqlite"] = pull_and_import(url, project_id, key)
        log("memory of a pull, in a fresh process")
        out["memory"] = measure_memory(url, project_id, key)
    size = out["export_bytes"]
    out["ratio_pull_export"] = out["pull"]["best_s"] / out["export"]["best_s"]
    out["targets"] = {"pull_vs_export": {"target": f"<= {TIME_TARGET}x", "value": out["ratio_pull_export"],
                                         "met": out["ratio_pull_export"] <= TIME_TARGET}}
    memory = out["memory"]
    if "tracemalloc_peak_bytes" in memory:
        memory["tracemalloc_peak_x_export"] = memory["tracemalloc_peak_bytes"] / size
        if memory.get("rss_peak_delta_bytes") is not None:
            memory["rss_peak_delta_x_export"] = memory["rss_peak_delta_bytes"] / size
        out["targets"]["pull_memory_vs_export_size"] = {
            "target": f"< {MEMORY_TARGET}x", "value": memory["tracemalloc_peak_x_export"],
            "met": memory["tracemalloc_peak_x_export"] < MEMORY_TARGET}
    return out


def _version(answer: Any) -> str | None:
    if isinstance(answer, dict):
        return str(answer.get("release") or answer.get("label-studio-os-package", {}).get("version") or "")
    return None


def print_report(r: dict[str, Any]) -> None:
    size = r["export_bytes"]
    pull = r["pull"]
    print(f"\n== Label Studio pull vs export: {r['n_tasks']:,} tasks x {r['n_annotators']} annotations "
          f"(Label Studio {r['server']['version']}, SQLite, loopback; best of {r['repeats']})")
    print(f"server started in {r['server']['start_s']:.0f} s, seeded in {r['seed_s']:.1f} s; "
          f"export file {size / MB:.1f} MB; pulled {pull['tasks']:,} tasks, {pull['annotations']:,} "
          f"annotations, {pull['rows']:,} rows ({pull['method']})")

    def runs(seconds: list[float]) -> str:
        return ", ".join(f"{x:.1f}" for x in seconds)

    ratio = r["ratio_pull_export"]
    pi = r["pull_import_sqlite"]
    print(f"{'route':<40}{'best':>9}  {'runs (s)':<16}{'vs export':>10}  target")
    print(f"{'Label Studio export (snapshot+download)':<40}{r['export']['best_s']:>8.1f}s  "
          f"{runs(r['export']['runs_s']):<16}{1.0:>9.2f}x")
    print(f"{'pull_project':<40}{pull['best_s']:>8.1f}s  {runs(pull['runs_s']):<16}{ratio:>9.2f}x  "
          f"<= {TIME_TARGET}x {'met' if ratio <= TIME_TARGET else 'MISSED'}")
    print(f"{'pull + import_dataset (SQLite)':<40}{pi['total_s']:>8.1f}s  "
          f"{'pull %.1f + import %.1f' % (pi['pull_s'], pi['import_s']):<16}"
          f"{pi['total_s'] / r['export']['best_s']:>9.2f}x")
    print("pull stages (last run): " + ", ".join(f"{k} {v:.2f} s" for k, v in pull["timings_last"].items()))
    m = r["memory"]
    if "tracemalloc_peak_bytes" in m:
        x = m["tracemalloc_peak_x_export"]
        print(f"{'memory of a pull (fresh process)':<40}"
              f"tracemalloc peak {m['tracemalloc_peak_bytes'] / MB:.1f} MB "
              f"= {x:.2f}x export size  (< {MEMORY_TARGET}x {'met' if x < MEMORY_TARGET else 'MISSED'})")
        if m.get("rss_peak_delta_bytes") is not None:
            print(f"{'':<40}peak RSS +{m['rss_peak_delta_bytes'] / MB:.1f} MB "
                  f"= {m['rss_peak_delta_x_export']:.2f}x export size (VmHWM; ru_maxrss "
                  f"+{m['ru_maxrss_delta_bytes'] / MB:.1f} MB, inherited peak)")
    else:
        print(f"memory measurement failed: {m.get('error')}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n_tasks", nargs="?", type=int, default=20000, help="tasks to seed (default 20000)")
    p.add_argument("--annotators", type=int, default=3, help="annotations per task (default 3)")
    p.add_argument("--repeats", "-R", type=int, default=2, help="best of R runs (default 2)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    p.add_argument("--_child-memory", nargs=2, metavar=("URL", "PROJECT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._child_memory:
        print(json.dumps(child_memory(args._child_memory[0], int(args._child_memory[1]))))
        return 0
    results = bench(args.n_tasks, args.annotators, max(1, args.repeats))
    print_report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if args.check and not all(t["met"] for t in results["targets"].values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
