"""``labelcheck export`` and :func:`labelcheck.exporting.write_export`: files, manifests,
byte-identical reruns, Label Studio round trip, errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from labelcheck import __version__, cli
from labelcheck.commands import export as command
from labelcheck.consensus.export import ExportRules, ExportTable, build_export
from labelcheck.exporting import FORMATS, ManifestInfo, public_name, write_export
from labelcheck.io import read_annotations
from labelcheck.table import Dataset, FieldSpec, ImportReport, from_records

ROOT = Path(__file__).resolve().parents[2]
SENTIMENT = str(ROOT / "tests" / "data" / "sentiment" / "demo_export.json")
SUFFIX = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet", "labelstudio": ".json"}


def small_dataset() -> Dataset:
    answers = {"1": "AAA", "2": "AAB", "3": "AB", "4": "BBBB", "10": "CCA", "x1": "CC"}
    rows = [dict(task_id=t, annotation_id=f"{t}-{j}", annotator_id="abcd"[j], field="topic",
                 label=lab, created_at="2025-03-03T10:00:00Z")
            for t, labels in answers.items() for j, lab in enumerate(labels)]
    tasks = pd.DataFrame({"task_id": list(answers), "text": [f"tï {t}" for t in answers],
                          "n_words": [3, 4, 5, 6, 7, 8]})
    return Dataset(annotations=from_records(rows), tasks=tasks,
                   fields={"topic": FieldSpec("topic", to_name="text")}, report=ImportReport("x"))


@pytest.fixture(scope="module")
def table() -> ExportTable:
    return build_export(small_dataset(), "topic", ExportRules(min_confidence=0.6))


@pytest.fixture(scope="module")
def sentiment() -> Dataset:
    return read_annotations(SENTIMENT)


def write(table: ExportTable, directory: Path, fmt: str, **kwargs: Any) -> Any:
    info = kwargs.pop("info", ManifestInfo(source="demo_export.json"))
    return write_export(table, directory / f"train{SUFFIX[fmt]}", fmt, info, **kwargs)  # type: ignore[arg-type]


def manifest_of(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# --- formats, bytes, manifest ----------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_same_input_twice_gives_identical_bytes(tmp_path: Path, sentiment: Dataset, fmt: str) -> None:
    outputs = []
    for run in ("one", "two"):
        directory = tmp_path / run
        directory.mkdir()
        rules = ExportRules(method="mace", seed=1, min_confidence=0.7)
        manifest = write(build_export(sentiment, "sentiment", rules), directory, fmt)
        outputs.append((manifest.export_path.read_bytes(), manifest.path.read_bytes()))
        assert manifest.path.name == f"train{SUFFIX[fmt]}.manifest.json"
        # the manifest's sha256 is the file's
        digest = hashlib.sha256(manifest.export_path.read_bytes()).hexdigest()
        assert manifest_of(manifest.path)["export"]["sha256"] == digest == manifest.export_sha256
    assert outputs[0] == outputs[1]


def test_the_input_row_order_does_not_matter(tmp_path: Path, sentiment: Dataset) -> None:
    """Majority vote counts exactly, so even a reordered input gives the same bytes."""
    reordered = Dataset(annotations=sentiment.annotations.iloc[::-1].reset_index(drop=True),
                        tasks=sentiment.tasks, fields=sentiment.fields, report=sentiment.report)
    outputs = []
    for run, data in (("one", sentiment), ("two", reordered)):
        (tmp_path / run).mkdir()
        manifest = write(build_export(data, "sentiment", ExportRules(min_agreement=0.6)),
                         tmp_path / run, "csv")
        outputs.append((manifest.export_path.read_bytes(), manifest.path.read_bytes()))
    assert outputs[0] == outputs[1]


def test_a_different_seed_or_method_changes_the_manifest(tmp_path: Path, sentiment: Dataset) -> None:
    texts = {}
    for name, rules in {"base": ExportRules(method="mace", seed=1),
                        "seed": ExportRules(method="mace", seed=2),
                        "method": ExportRules(method="dawid_skene", seed=1)}.items():
        (tmp_path / name).mkdir()
        manifest = write(build_export(sentiment, "sentiment", rules), tmp_path / name, "csv")
        texts[name] = manifest_of(manifest.path)
    assert texts["seed"]["rules"]["seed"] == 2 and texts["base"]["rules"]["seed"] == 1
    assert texts["method"]["rules"]["method"] == "dawid_skene"
    assert texts["base"] != texts["seed"] and texts["base"] != texts["method"]
    assert texts["base"]["input"] == texts["seed"]["input"]  # the same snapshot


def test_manifest_content(tmp_path: Path, table: ExportTable) -> None:
    adj = pd.DataFrame({"task_id": ["2"], "label": ["B"], "status": ["label"]})
    rules = ExportRules(min_confidence=0.7, adjudications=adj, exclude_annotators=("d",))
    built = build_export(small_dataset(), "topic", rules)
    info = ManifestInfo(source="demo.json", guideline_version="v2", sync_run="run 7",
                        adjudications="leads.csv")
    manifest = manifest_of(write(built, tmp_path, "csv", info=info).path)
    assert list(manifest) == ["labelcheck_version", "export", "input", "field",
                              "guideline_version", "rules", "model", "counts", "classes",
                              "agreement", "annotators", "dropped", "notes"]
    assert manifest["labelcheck_version"] == __version__
    assert manifest["export"]["file"] == "train.csv" and manifest["export"]["n_rows"] == built.n_kept
    assert manifest["input"]["source"] == "demo.json" and manifest["input"]["sync_run"] == "run 7"
    assert manifest["input"]["snapshot_sha256"] == built.snapshot_sha256
    assert manifest["guideline_version"] == "v2"
    assert manifest["rules"]["exclude_annotators"] == ["d"]
    assert manifest["rules"]["adjudications"]["source"] == "leads.csv"
    assert len(manifest["rules"]["adjudications"]["sha256"]) == 64
    assert manifest["counts"]["kept_by_source"]["adjudicated"] == 1
    assert manifest["classes"] == [{"label": "A", "before": 1, "after": 1},
                                   {"label": "B", "before": 2, "after": 2},
                                   {"label": "C", "before": 2, "after": 1}]
    assert manifest["dropped"] == [
        {"task_id": "3", "reason": "unresolved_tie", "detail": "tie between A and B (1 answer each)"},
        {"task_id": "10", "reason": "below_min_confidence",
         "detail": "confidence 0.6667 is below 0.7"},
    ]
    # majority vote's reliability: agreement with the model's label on resolved items
    assert manifest["annotators"] == [
        {"annotator_id": "a", "n_answers": 6, "reliability": 1.0},
        {"annotator_id": "b", "n_answers": 6, "reliability": 1.0},
        {"annotator_id": "c", "n_answers": 4, "reliability": 0.5},  # 2 of 4 (tasks 2, 10)
    ]
    assert manifest["agreement"]["metric"] == "krippendorff_alpha"
    assert set(manifest["agreement"]) >= {"before_exclusion", "after_exclusion"}
    assert "created_at" not in manifest


def test_created_at_only_when_asked(tmp_path: Path, table: ExportTable) -> None:
    from datetime import datetime, timezone

    stamp = datetime(2025, 5, 1, 12, 0, tzinfo=timezone.utc)
    manifest = write(table, tmp_path, "csv", info=ManifestInfo(created_at=stamp))
    assert manifest_of(manifest.path)["created_at"] == "2025-05-01T12:00:00Z"


def test_no_directory_or_secret_reaches_the_manifest(tmp_path: Path, table: ExportTable) -> None:
    source = str(tmp_path / "private" / "export.json")
    url = "https://alice:s3cret-token@ls.example.com:8443/api/projects/3/export?token=abc123#x"
    for name in (source, url):
        manifest = write(table, tmp_path, "jsonl",
                         info=ManifestInfo(source=name, adjudications=str(tmp_path / "adj.csv")))
        text = manifest.path.read_text(encoding="utf-8")
        for leak in (str(tmp_path), "alice", "s3cret", "abc123", "token="):
            assert leak not in text
    assert public_name(url) == "https://ls.example.com:8443/api/projects/3/export"
    assert public_name(source) == "export.json"


def test_csv_jsonl_and_parquet_read_back_to_the_rows(tmp_path: Path, table: ExportTable) -> None:
    expected = table.rows.copy()
    csv_rows = pd.read_csv(write(table, tmp_path, "csv").export_path, dtype={"task_id": str})
    assert csv_rows["task_id"].tolist() == ["1", "2", "4", "10", "x1"]
    assert csv_rows["final_label"].tolist() == expected["final_label"].tolist()
    assert csv_rows["text"].tolist() == ["tï 1", "tï 2", "tï 4", "tï 10", "tï x1"]
    lines = write(table, tmp_path, "jsonl").export_path.read_text(encoding="utf-8").splitlines()
    second = json.loads(lines[1])
    assert list(second) == list(expected.columns)
    assert second["confidence"] == round(2 / 3, 6) and second["n_answers"] == 3
    parquet = write(table, tmp_path, "parquet").export_path
    back = pd.read_parquet(parquet)
    assert back["final_label"].tolist() == expected["final_label"].tolist()
    assert back["n_words"].tolist() == [3, 4, 6, 7, 8]
    # no pandas metadata, no time: the only key-value metadata is ours
    assert set(pq.read_schema(parquet).metadata) == {b"labelcheck"}


def test_label_studio_file_reads_back_to_the_final_labels(tmp_path: Path, sentiment: Dataset) -> None:
    built = build_export(sentiment, "sentiment", ExportRules(method="dawid_skene",
                                                              min_confidence=0.8))
    manifest = write(built, tmp_path, "labelstudio", completed_by="lead@example.com")
    tasks = json.loads(manifest.export_path.read_text(encoding="utf-8"))
    first = tasks[0]
    assert set(first) == {"id", "data", "meta", "annotations"}
    result = first["annotations"][0]["result"][0]
    assert result["from_name"] == "sentiment" and result["to_name"] == "text"
    assert result["type"] == "choices" and result["value"]["choices"] == [built.rows["final_label"][0]]
    assert first["annotations"][0]["ground_truth"] is False
    back = read_annotations(manifest.export_path)
    labels = back.annotations.set_index("task_id")["label"]
    expected = built.rows.set_index("task_id")["final_label"]
    assert len(labels) == len(expected) == built.n_kept
    assert labels.reindex(expected.index).tolist() == expected.tolist()
    assert set(back.annotations["annotator_id"]) == {"lead@example.com"}
    data_columns = [c for c in back.tasks.columns if not c.startswith("meta.")]
    assert data_columns == ["task_id", "text", "source", "lang"]


def test_label_studio_file_without_annotator_is_a_plain_import(tmp_path: Path, table: ExportTable) -> None:
    tasks = json.loads(write(table, tmp_path, "labelstudio").export_path.read_text("utf-8"))
    annotation = tasks[0]["annotations"][0]
    assert "completed_by" not in annotation  # Label Studio credits the importing user
    assert tasks[3]["id"] == 10 and tasks[4]["id"] == "x1"
    assert tasks[0]["meta"]["labelcheck"] == {"label_source": "unanimous", "confidence": 1.0,
                                              "n_answers": 3, "agreement": 1.0}
    assert tasks[1]["meta"]["labelcheck"]["label_source"] == "model"


def test_a_rating_field_exports_ratings(tmp_path: Path, sentiment: Dataset) -> None:
    built = build_export(sentiment, "toxicity", ExportRules(tie="deterministic"))
    tasks = json.loads(write(built, tmp_path, "labelstudio").export_path.read_text("utf-8"))
    result = tasks[0]["annotations"][0]["result"][0]
    assert result["type"] == "rating" and isinstance(result["value"]["rating"], int)


# --- the command -----------------------------------------------------------------------
@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(cli.main, ["export", *args], catch_exceptions=False)


def test_contract_options_are_declared() -> None:
    options = {o for p in command.export.params for o in getattr(p, "opts", [])}
    assert {"--out", "--field", "--method", "--tie", "--min-confidence", "--min-agreement",
            "--exclude-annotator", "--adjudications", "--drop-unresolved", "--seed",
            "--format"} <= options
    fmt = next(p for p in command.export.params if p.name == "fmt")
    assert tuple(fmt.type.choices) == FORMATS == command.FORMAT_NAMES  # type: ignore[attr-defined]


def test_export_to_a_file_writes_its_manifest_beside_it(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "train.parquet"
    result = run(runner, SENTIMENT, "--field", "sentiment", "--method", "dawid_skene",
                 "--min-confidence", "0.8", "--out", str(out))
    assert result.exit_code == 0, result.output
    manifest = manifest_of(tmp_path / "train.parquet.manifest.json")
    assert manifest["export"]["format"] == "parquet"  # from the suffix
    n_kept = manifest["counts"]["n_kept"]
    assert len(pd.read_parquet(out)) == n_kept
    lines = result.stdout.splitlines()
    assert lines[0] == f"wrote {out} and {out}.manifest.json"
    assert lines[1].startswith(f'field "sentiment": kept {n_kept} of 400 item(s) (')
    assert lines[2].startswith("dropped ") and "below_min_confidence" in lines[2]


def test_export_into_a_directory_writes_export_and_manifest_json(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "release"
    args = (SENTIMENT, "--field", "sentiment", "--out", str(out), "--format", "jsonl",
            "--exclude-annotator", "13", "--keep-unresolved", "--guideline-version", "v2")
    assert run(runner, *args).exit_code == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["export.jsonl", "manifest.json"]
    first = ((out / "export.jsonl").read_bytes(), (out / "manifest.json").read_bytes())
    assert run(runner, *args).exit_code == 0
    assert ((out / "export.jsonl").read_bytes(), (out / "manifest.json").read_bytes()) == first
    manifest = manifest_of(out / "manifest.json")
    assert manifest["rules"]["exclude_annotators"] == ["13"]
    assert manifest["rules"]["drop_unresolved"] is False
    assert manifest["guideline_version"] == "v2"
    assert manifest["input"]["source"] == "demo_export.json"
    assert str(ROOT) not in (out / "manifest.json").read_text("utf-8")


def test_adjudications_from_a_csv(runner: CliRunner, tmp_path: Path, sentiment: Dataset) -> None:
    task = sentiment.annotations["task_id"].iloc[0]
    adj = tmp_path / "leads.csv"
    adj.write_text(f"task_id,field,label,status,reason\n{task},sentiment,Mixed,label,sarcasm\n",
                   encoding="utf-8")
    out = tmp_path / "t.csv"
    result = run(runner, SENTIMENT, "--field", "sentiment", "--adjudications", str(adj),
                 "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, dtype={"task_id": str}).set_index("task_id")
    assert rows.loc[task, "final_label"] == "Mixed" and rows.loc[task, "label_source"] == "adjudicated"
    manifest = manifest_of(tmp_path / "t.csv.manifest.json")
    assert manifest["rules"]["adjudications"]["source"] == "leads.csv"


def test_created_at_option(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    args = (SENTIMENT, "--field", "sentiment", "--out", str(out))
    assert run(runner, *args, "--created-at", "2025-05-01T12:00:00Z").exit_code == 0
    assert manifest_of(tmp_path / "t.csv.manifest.json")["created_at"] == "2025-05-01T12:00:00Z"
    assert run(runner, *args, "--created-at", "now").exit_code == 0
    assert manifest_of(tmp_path / "t.csv.manifest.json")["created_at"].endswith("Z")


# --- errors ----------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (("--field", "nope"), 'Error: demo_export.json: field "nope" not found; the table has: '
                          "sentiment, toxicity\n"),
    ((), "Error: demo_export.json: the table has 2 fields (sentiment, toxicity); choose one "
         "with field=... (CLI: --field NAME)\n"),
    (("--field", "sentiment", "--exclude-annotator", "99"),
     'Error: demo_export.json: exclude_annotators: no annotator 99 on field "sentiment"; its '
     "annotators are 2, 3, 5, 8, 13, 21 (CLI: --exclude-annotator)\n"),
    (("--field", "sentiment", "--adjudications", "missing.csv"),
     "Error: --adjudications missing.csv: no such file (missing.csv)\n"),
])
def test_errors_name_the_file_field_or_option(
    runner: CliRunner, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = run(runner, SENTIMENT, *args, "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 1
    assert result.stderr == message
    assert not (tmp_path / "x.csv").exists()


def test_a_bad_adjudication_row_is_named(runner: CliRunner, tmp_path: Path) -> None:
    adj = tmp_path / "leads.csv"
    adj.write_text("task_id,label,status\n1,Mixed,maybe\n", encoding="utf-8")
    result = run(runner, SENTIMENT, "--field", "sentiment", "--adjudications", str(adj),
                 "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: demo_export.json: leads.csv: 1 problem(s)")
    assert "leads.csv, row 1: task 1, field \"sentiment\": status 'maybe' is not one of" in result.stderr


def test_usage_errors_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    out = str(tmp_path / "x.csv")
    reliability = run(runner, SENTIMENT, "--field", "sentiment", "--method", "mace",
                      "--tie", "reliability", "--out", out)
    assert reliability.exit_code == 2 and "--tie reliability applies to" in reliability.stderr
    completed = run(runner, SENTIMENT, "--field", "sentiment", "--completed-by", "3", "--out", out)
    assert completed.exit_code == 2 and "--completed-by applies to --format labelstudio" in completed.stderr
    stamp = run(runner, SENTIMENT, "--field", "sentiment", "--created-at", "soon", "--out", out)
    assert stamp.exit_code == 2 and "--created-at" in stamp.stderr


# --- answers that are not single choices (tests/data/mixed) ------------------------------
MIXED = str(ROOT / "tests" / "data" / "mixed" / "mixed_export.json")
MIXED_FIELDS = {"ner": "auto", "box": "auto", "topics": "auto", "quality": "median", "comment": "auto"}


@pytest.fixture(scope="module")
def mixed() -> Dataset:
    return read_annotations(MIXED)


def test_method_choices_add_auto_and_the_types_rules() -> None:
    from labelcheck.consensus.export import METHODS

    method = next(p for p in command.export.params if p.name == "method")
    assert tuple(method.type.choices) == command.EXPORT_METHODS  # type: ignore[attr-defined]
    assert command.EXPORT_METHODS[:3] == ("majority_vote", "dawid_skene", "mace")
    assert set(command.EXPORT_METHODS) == set(METHODS)
    assert method.default == "majority_vote"


@pytest.mark.parametrize("fmt", FORMATS)
def test_structured_exports_rerun_to_identical_bytes(tmp_path: Path, mixed: Dataset, fmt: str) -> None:
    for field, method in MIXED_FIELDS.items():
        outputs = []
        for run_name in ("one", "two"):
            directory = tmp_path / field / run_name
            directory.mkdir(parents=True)
            table = build_export(mixed, field, ExportRules(method=method, min_agreement=0.5))  # type: ignore[arg-type]
            manifest = write(table, directory, fmt, completed_by=1 if fmt == "labelstudio" else None)
            outputs.append((manifest.export_path.read_bytes(), manifest.path.read_bytes()))
        assert outputs[0] == outputs[1], field


def test_structured_rows_in_csv_jsonl_and_parquet(tmp_path: Path, mixed: Dataset) -> None:
    table = build_export(mixed, "ner", ExportRules(method="auto"))
    jsonl = write(table, tmp_path, "jsonl").export_path.read_text("utf-8").splitlines()
    first = json.loads(jsonl[0])
    spans = [{"start": 0, "end": 9, "labels": ["PER"], "text": "Ana Lopez"},
             {"start": 15, "end": 24, "labels": ["ORG"], "text": "Acme Corp"},
             {"start": 33, "end": 39, "labels": ["LOC"], "text": "Lisbon"}]
    assert first["task_id"] == "7000" and first["final_label"] == spans
    csv = pd.read_csv(write(table, tmp_path, "csv").export_path, dtype=str)
    assert json.loads(csv["final_label"].iloc[0]) == spans
    parquet = pq.read_table(write(table, tmp_path, "parquet").export_path)
    assert parquet.column("final_label").to_pylist()[0] == spans
    assert [json.loads(line)["final_label"] for line in jsonl] == parquet.column("final_label").to_pylist()

    boxes = build_export(mixed, "box", ExportRules(method="auto"))
    parquet = pq.read_table(write(boxes, tmp_path, "parquet").export_path)
    assert str(parquet.schema.field("final_label").type).startswith("list<element: struct<shape: string")
    assert parquet.column("final_label").to_pylist()[1][0] == {
        "shape": "rectangle", "labels": ["car"], "x": 20.0, "y": 20.0, "width": 20.0, "height": 30.0,
        "rotation": 0.0, "points": []}
    topics = build_export(mixed, "topics", ExportRules(method="auto"))
    rows = pq.read_table(write(topics, tmp_path, "parquet").export_path).to_pylist()
    assert rows[0]["final_label"] == ["billing", "shipping"]
    manifest = manifest_of(write(topics, tmp_path, "csv").path)
    assert manifest["classes"][0] == {"label": "billing", "before": 17, "after": 17}
    assert manifest["model"]["method"] == "label_vote" and manifest["rules"]["method"] == "auto"
    assert manifest["counts"]["dropped_by_reason"]["malformed"] == 0


def test_label_studio_results_of_each_type(tmp_path: Path, mixed: Dataset) -> None:
    results = {}
    for field, method in MIXED_FIELDS.items():
        table = build_export(mixed, field, ExportRules(method=method))  # type: ignore[arg-type]
        tasks = json.loads(write(table, tmp_path, "labelstudio").export_path.read_text("utf-8"))
        results[field] = tasks[1]["annotations"][0]["result"]  # task 7001
    assert results["ner"][0] == {"id": "2-1", "from_name": "ner", "to_name": "text", "type": "labels",
                                 "value": {"start": 0, "end": 10, "text": "Ben Okafor", "labels": ["PER"]}}
    assert len(results["ner"]) == 3
    assert results["box"][0] == {"id": "2-1", "from_name": "box", "to_name": "image",
                                 "type": "rectanglelabels",
                                 "value": {"x": 20, "y": 20, "width": 20, "height": 30, "rotation": 0,
                                           "rectanglelabels": ["car"]}}
    assert results["topics"] == [{"from_name": "topics", "to_name": "text", "type": "choices",
                                  "value": {"choices": ["shipping"]}}]
    assert results["quality"][0]["type"] == "rating" and results["quality"][0]["value"] == {"rating": 3}
    assert results["comment"][0]["value"] == {"text": ["Customer asks about order 1001."]}


def test_label_studio_file_reads_back_to_the_structured_labels(tmp_path: Path, mixed: Dataset) -> None:
    for field, method in MIXED_FIELDS.items():
        table = build_export(mixed, field, ExportRules(method=method))  # type: ignore[arg-type]
        path = write(table, tmp_path, "labelstudio", completed_by=7).export_path
        back = read_annotations(str(path), fields=[mixed.fields[field]])
        labels = dict(zip(back.annotations["task_id"], back.annotations["label"]))
        expected = dict(zip(table.rows["task_id"], table.rows["final_label"]))
        assert labels == expected, field
        assert set(back.annotations["annotator_id"]) == {"7"}


def test_label_studio_region_shapes_and_empty_labels(tmp_path: Path) -> None:
    from labelcheck.table import Region

    shapes = (Region("polygon", ("p",), points=((10.0, 10.0), (30.0, 10.0), (20.0, 30.0))),
              Region("ellipse", ("e",), 50.0, 50.0, 10.0, 5.0, 15.0),
              Region("keypoint", ("k",), 70.0, 70.0))
    rows = [dict(task_id=t, annotation_id=f"{t}{a}", annotator_id=a, field="box", label=lab)
            for t, lab in (("1", shapes), ("2", ())) for a in "ab"]
    data = Dataset(annotations=from_records(rows), tasks=pd.DataFrame({"task_id": ["1", "2"]}),
                   fields={"box": FieldSpec("box", value_type="region", to_name="image")},
                   report=ImportReport("hand"))
    table = build_export(data, "box", ExportRules(method="box_fusion"))
    tasks = json.loads(write(table, tmp_path, "labelstudio", completed_by=1).export_path.read_text("utf-8"))
    got = {r["type"]: r["value"] for r in tasks[0]["annotations"][0]["result"]}
    # box fusion leaves keypoints out (no area)
    assert got == {"polygonlabels": {"points": [[10, 10], [30, 10], [20, 30]], "polygonlabels": ["p"]},
                   "ellipselabels": {"x": 50, "y": 50, "radiusX": 10, "radiusY": 5, "rotation": 15,
                                     "ellipselabels": ["e"]}}
    assert tasks[1]["annotations"][0]["result"] == []  # agreed: nothing in the image


def test_cli_exports_spans(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "ner.jsonl"
    result = run(runner, MIXED, "--field", "ner", "--method", "auto", "--min-agreement", "0.5",
                 "--out", str(out))
    assert result.exit_code == 0, result.output
    assert 'field "ner": kept 26 of 40 item(s) (26 model)' in result.stdout
    assert "dropped 14: below_min_agreement 14" in result.stdout
    first = json.loads(out.read_text("utf-8").splitlines()[0])
    assert first["task_id"] == "7001" and [s["labels"] for s in first["final_label"]] == [["PER"], ["ORG"], ["LOC"]]
    manifest = manifest_of(tmp_path / "ner.jsonl.manifest.json")
    assert manifest["dropped"][0] == {"task_id": "7000", "reason": "below_min_agreement",
                                      "detail": "agreement 0.3333 (1 of 3 answers) is below 0.5"}
    assert manifest["agreement"]["metric"] == "span_character_alpha"


def test_cli_refuses_a_choice_model_on_spans(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, MIXED, "--field", "ner", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 1
    assert result.stderr == ('Error: mixed_export.json: field "ner" holds span answers; '
                             "use --method span_vote or auto\n")
    wrong = run(runner, MIXED, "--field", "box", "--method", "medoid", "--out", str(tmp_path / "x.csv"))
    assert wrong.exit_code == 1 and "use --method box_fusion or auto" in wrong.stderr


def test_cli_adjudicates_spans_from_json_text(runner: CliRunner, tmp_path: Path) -> None:
    adj = tmp_path / "leads.csv"
    frame = pd.DataFrame({"task_id": ["7000", "7001"], "field": ["ner", "ner"],
                          "status": ["label", "excluded"],
                          "label": ['[{"start": 0, "end": 9, "labels": ["PER"]}]', ""]})
    frame.to_csv(adj, index=False)
    out = tmp_path / "ner.csv"
    result = run(runner, MIXED, "--field", "ner", "--method", "span_vote", "--adjudications", str(adj),
                 "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, dtype=str)
    assert rows["task_id"].iloc[0] == "7000" and rows["label_source"].iloc[0] == "adjudicated"
    assert json.loads(rows["final_label"].iloc[0]) == [{"start": 0, "end": 9, "labels": ["PER"], "text": None}]
    assert "7001" not in set(rows["task_id"])
