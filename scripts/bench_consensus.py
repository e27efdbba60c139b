#!/usr/bin/env python
"""Speed of labelcheck's majority vote and Dawid-Skene against crowd-kit's, measured in
one run on the same seeded synthetic data (``bench_data``: 20 annotators, 5 classes,
3-5 answers per item, two noisy annotators, confusable class pairs).

Usage::

    .venv/bin/python scripts/bench_consensus.py                  # 100k and 1M annotations
    .venv/bin/python scripts/bench_consensus.py --sizes 1M --iterations 20 --json out.json
    .venv/bin/python scripts/bench_consensus.py --check          # exit 1 if a target fails

Both libraries start from the string columns: labelcheck from the canonical table (its
time includes ``encode``), crowd-kit from a ``task, worker, label`` frame of the same
strings (building that frame is not timed).  Dawid-Skene runs exactly ``--iterations``
EM iterations on both sides (crowd-kit ``tol=-1``, labelcheck ``tol=0``) without
smoothing, so both compute the same estimate; the per-iteration cost is the slope
between a 1-iteration and an N-iteration run.  labelcheck's figure is the best of
``--repeats`` runs; crowd-kit's is one run (it takes minutes at 1M).

It also times a whole export at each size (``build_export`` with Dawid-Skene, then
``write_export`` to Parquet with its manifest) against a floor: pyarrow writing the
canonical table's own columns to Parquet.

Targets (from the project issue; printed PASS/FAIL):

* Dawid-Skene at 1M annotations, same iteration cap: labelcheck >= 30x faster than
  crowd-kit, with the same label on >= 99.5% of items.
* Export of 1M annotations to Parquet (consensus, filtering, file and manifest) in
  under 10 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench_data  # noqa: E402

from labelcheck.consensus import DawidSkene, majority_vote  # noqa: E402

TARGET_SIZE = 1_000_000
TARGET_RATIO = 30.0
TARGET_AGREEMENT = 0.995
TARGET_EXPORT_S = 10.0


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if mult > 1 else text) * mult)


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1_000}k" if n % 1_000 == 0 else str(n)


def timed(fn: Callable[[], Any], repeats: int = 1) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def agreement(ours: pd.Series, theirs: pd.Series) -> float:
    return float((ours.astype(object) == theirs.reindex(ours.index).astype(object)).mean())


def accuracy(labels: pd.Series, truth: pd.Series) -> float:
    return float((labels.astype(object) == truth.reindex(labels.index)).mean())


def bench_size(n: int, iterations: int, repeats: int, seed: int) -> list[dict[str, Any]]:
    from crowdkit.aggregation import DawidSkene as CrowdKitDawidSkene
    from crowdkit.aggregation import MajorityVote as CrowdKitMajorityVote

    codes = bench_data.generate_codes(n, seed)
    strings = bench_data.string_columns(codes)
    raw = pd.DataFrame({"task_id": strings["task_id"], "annotation_id": strings["annotation_id"],
                        "annotator_id": strings["annotator_id"], "field": "label",
                        "label": strings["label"]})
    table = bench_data.canonical_direct(raw)
    ck_frame = pd.DataFrame({"task": strings["task_id"], "worker": strings["annotator_id"],
                             "label": strings["label"]})
    width = len(strings["task_id"][0]) - len("task-")
    truth_ids = bench_data.fixed_width_ids("task-", np.arange(int(codes["n_items"])), width)
    truth = pd.Series(np.array(bench_data.CLASSES, dtype=object)[np.asarray(codes["truth"])],
                      index=truth_ids)
    rows: list[dict[str, Any]] = []

    ours_t, mv = timed(lambda: majority_vote(table, tie="deterministic"), repeats)
    ck_t, ck_mv = timed(lambda: CrowdKitMajorityVote().fit(ck_frame))
    rows.append({"size": n, "method": "majority_vote", "labelcheck_s": ours_t, "crowdkit_s": ck_t,
                 "ratio": ck_t / ours_t, "agreement": agreement(mv.labels, ck_mv.labels_),
                 "accuracy": accuracy(mv.labels, truth), "iterations": None})

    one_t, _ = timed(lambda: DawidSkene(n_iter=1, tol=0, smoothing=0).fit(table), repeats)
    ours_t, ds = timed(lambda: DawidSkene(n_iter=iterations, tol=0, smoothing=0).fit(table), repeats)
    ck_t, ck_ds = timed(lambda: CrowdKitDawidSkene(n_iter=iterations, tol=-1).fit(ck_frame))
    ck_iters = len(ck_ds.loss_history_)
    rows.append({
        "size": n, "method": "dawid_skene", "labelcheck_s": ours_t, "crowdkit_s": ck_t,
        "ratio": ck_t / ours_t, "agreement": agreement(ds.labels_, ck_ds.labels_),
        "accuracy": accuracy(ds.labels_, truth), "iterations": (ds.n_iter_, ck_iters),
        "labelcheck_s_per_iter": (ours_t - one_t) / max(ds.n_iter_ - 1, 1),
        "crowdkit_s_per_iter": ck_t / max(ck_iters, 1),
    })
    rows.append(bench_export(n, table, repeats))
    return rows


def bench_export(n: int, table: pd.DataFrame, repeats: int) -> dict[str, Any]:
    """A Dawid-Skene export of the table to Parquet with its manifest, against pyarrow
    writing the table's string columns to Parquet (the floor of any Parquet export)."""
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    from labelcheck.consensus.export import ExportRules, build_export
    from labelcheck.exporting import write_export
    from labelcheck.table import Dataset, ImportReport

    tasks = pd.DataFrame({"task_id": pd.unique(table["task_id"])})
    dataset = Dataset(table, tasks, {}, ImportReport("bench"))
    with tempfile.TemporaryDirectory() as folder:
        def export() -> Any:
            built = build_export(dataset, "label", ExportRules(method="dawid_skene"))
            return write_export(built, Path(folder) / "export.parquet", "parquet")

        def floor() -> None:
            frame = table[["task_id", "annotator_id", "label"]].astype(str)
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), Path(folder) / "floor.parquet")

        ours_t, manifest = timed(export, repeats)
        floor_t, _ = timed(floor, repeats)
    return {"size": n, "method": "export_parquet", "labelcheck_s": ours_t, "crowdkit_s": None,
            "floor_s": floor_t, "ratio": ours_t / floor_t, "agreement": None, "accuracy": None,
            "iterations": None, "n_rows": int(manifest.content["counts"]["n_kept"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1M", help="comma-separated annotation counts")
    parser.add_argument("--iterations", type=int, default=10, help="EM iterations for both libraries")
    parser.add_argument("--repeats", type=int, default=3, help="best of N for labelcheck")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)

    rows: list[dict[str, Any]] = []
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}")
    head = f"{'size':>5}  {'method':<13} {'labelcheck':>10} {'crowd-kit':>10} {'ratio':>7}  {'same label':>10}  {'acc':>6}  iterations"
    print(head)
    print("-" * len(head))
    for n in (parse_size(s) for s in args.sizes.split(",")):
        for row in bench_size(n, args.iterations, args.repeats, args.seed):
            rows.append(row)
            if row["method"] == "export_parquet":
                print(f"{size_label(n):>5}  {'export':<13} {row['labelcheck_s']:>9.2f}s  (floor: pyarrow writes the "
                      f"table in {row['floor_s']:.2f} s; {row['ratio']:.1f}x the floor; {row['n_rows']} rows)")
                continue
            iters = "" if row["iterations"] is None else (
                f"{row['iterations'][0]} / {row['iterations'][1]}  "
                f"({row['labelcheck_s_per_iter'] * 1e3:.0f} ms vs {row['crowdkit_s_per_iter']:.2f} s per iteration)")
            print(f"{size_label(n):>5}  {row['method']:<13} {row['labelcheck_s']:>9.2f}s {row['crowdkit_s']:>9.2f}s "
                  f"{row['ratio']:>6.1f}x  {row['agreement']:>10.2%}  {row['accuracy']:>6.3f}  {iters}")

    failures = []
    target = [r for r in rows if r["method"] == "dawid_skene" and r["size"] == TARGET_SIZE]
    for r in target:
        ok = r["ratio"] >= TARGET_RATIO and r["agreement"] >= TARGET_AGREEMENT
        print(f"target: Dawid-Skene at 1M >= {TARGET_RATIO:.0f}x crowd-kit with >= {TARGET_AGREEMENT:.1%} "
              f"same labels: {'PASS' if ok else 'FAIL'} ({r['ratio']:.1f}x, {r['agreement']:.2%})")
        if not ok:
            failures.append("dawid_skene_1M")
    if not target:
        print("target: Dawid-Skene at 1M not measured (add 1M to --sizes)")
    for r in (r for r in rows if r["method"] == "export_parquet" and r["size"] == TARGET_SIZE):
        ok = r["labelcheck_s"] < TARGET_EXPORT_S
        print(f"target: export of 1M annotations to Parquet under {TARGET_EXPORT_S:.0f} s: "
              f"{'PASS' if ok else 'FAIL'} ({r['labelcheck_s']:.2f} s)")
        if not ok:
            failures.append("export_parquet_1M")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "failures": failures}, indent=2))
    return 1 if (args.check and failures) else 0


if __name__ == "__main__":
    sys.exit(main())
