"""The ``labelcheck`` command line: a contract that external checks run against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from labelcheck import cli

#: The 400-task sentiment project (the first bundled demo), kept as a test fixture.
SENTIMENT = Path(__file__).resolve().parents[1] / "data" / "sentiment"
EXPORT = str(SENTIMENT / "demo_export.json")
LONG_CSV = str(SENTIMENT / "demo_long.csv")

#: Keys of every JSON result (AgreementResult.to_dict), pinned one by one.
RESULT_KEYS = {
    "metric", "level", "weights", "value", "se", "ci", "ci_method", "confidence",
    "n_items", "n_annotations", "n_annotators", "n_categories", "observed", "expected",
    "reason", "details",
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(cli.main, list(args), catch_exceptions=False)


def run_json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = run(runner, "agreement", *args, "--format", "json")
    assert result.exit_code == 0, result.output + result.stderr
    payload = json.loads(result.stdout)
    assert isinstance(payload, dict)
    return payload


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# --- contract -----------------------------------------------------------------------
def test_metric_names_match_the_registry() -> None:
    from labelcheck.agreement import METRICS

    assert cli.METRIC_NAMES == tuple(METRICS)


def test_contract_options_are_declared() -> None:
    options = {o for p in cli.agreement.params for o in getattr(p, "opts", [])}
    assert {
        "--field", "--metric", "--level", "--weights", "--categories", "--by", "--ci",
        "--format", "--n-boot", "--seed", "--confidence", "--bootstrap-method",
        "--quantile", "--strict", "--min-items", "--annotators",
    } <= options


def test_version(runner: CliRunner) -> None:
    from labelcheck import __version__

    result = run(runner, "--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"labelcheck, version {__version__}"


def test_json_shape_pinned_key_by_key(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--field", "sentiment")
    assert set(payload) == {"results", "file", "field", "import"}
    assert payload["file"] == EXPORT and payload["field"] == "sentiment"
    assert set(payload["import"]) == {"n_rows", "n_cancelled", "n_problems", "problems"}
    assert payload["import"]["n_cancelled"] == 2
    assert payload["import"]["n_problems"] == len(payload["import"]["problems"]) == 0
    assert [r["metric"] for r in payload["results"]] == list(cli.DEFAULT_METRICS)
    for r in payload["results"]:
        assert set(r) == RESULT_KEYS
        assert isinstance(r["value"], float)
        assert isinstance(r["ci"], list) and len(r["ci"]) == 2 and r["ci"][0] < r["value"] < r["ci"][1]
        assert r["n_items"] == 400 and r["n_annotations"] == 1542
        assert r["level"] == "nominal" and r["reason"] is None


def test_metric_is_repeatable_and_comma_separated(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--field", "sentiment", "--metric", "scott_pi,gwet_ac2",
                       "--metric", "brennan_prediger", "--metric", "scott_pi")
    assert [r["metric"] for r in payload["results"]] == ["scott_pi", "gwet_ac2", "brennan_prediger"]


def test_level_weights_and_categories_reach_the_coefficients(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--field", "sentiment", "--metric", "krippendorff_alpha",
                       "--metric", "fleiss_kappa", "--level", "ordinal", "--weights", "linear",
                       "--categories", "Negative,Neutral,Mixed,Positive")
    alpha, kappa = payload["results"]
    assert alpha["level"] == "ordinal"
    assert kappa["weights"] == "linear"


def test_interval_options(runner: CliRunner) -> None:
    boot = run_json(runner, EXPORT, "--field", "sentiment", "--metric", "fleiss_kappa", "--ci",
                    "bootstrap", "--n-boot", "200", "--seed", "4", "--bootstrap-method", "bca",
                    "--confidence", "0.9")
    r = boot["results"][0]
    assert r["ci_method"] == "bootstrap-bca" and r["confidence"] == 0.9
    normal = run_json(runner, EXPORT, "--field", "sentiment", "--metric", "fleiss_kappa",
                      "--quantile", "normal")
    assert normal["results"][0]["ci_method"] == "analytic-normal"


def test_numeric_field_with_intraclass_correlation(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--field", "toxicity", "--level", "interval",
                       "--metric", "krippendorff_alpha,icc_oneway")
    alpha, icc = payload["results"]
    assert alpha["level"] == "interval" and alpha["value"] > 0.3
    assert icc["ci_method"] == "F" and icc["value"] > 0.3


# --- breakdowns ---------------------------------------------------------------------
def test_by_class(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--field", "sentiment", "--metric", "fleiss_kappa", "--by", "class")
    classes = {r["class"]: r for r in payload["results"]}
    # the export carries no label config, so categories come in sorted order
    assert list(classes) == ["Mixed", "Negative", "Neutral", "Positive"]
    # planted: Neutral vs Mixed confused (tests/data/sentiment/make_sentiment.py)
    assert max(classes["Neutral"]["value"], classes["Mixed"]["value"]) < min(
        classes["Positive"]["value"], classes["Negative"]["value"])
    assert "specific_agreement" in classes["Neutral"]["details"]


def test_by_annotator(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--field", "sentiment", "--metric", "krippendorff_alpha",
                       "--by", "annotator")
    rows = {r["annotator"]: r for r in payload["results"]}
    assert sorted(rows) == sorted(["2", "3", "5", "8", "13", "21"])
    worst = min(rows, key=lambda a: rows[a]["value"])
    assert worst == "13" and rows["13"]["details"]["delta"] < 0  # the planted noisy annotator


def test_by_slice(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--field", "sentiment", "--metric", "gwet_ac1",
                       "--by", "slice:source")
    rows = {r["slice"]["value"]: r for r in payload["results"]}
    assert list(rows) == ["forum", "review", "support"]
    assert all(r["slice"]["column"] == "source" for r in payload["results"])
    assert rows["forum"]["value"] < min(rows["review"]["value"], rows["support"]["value"])
    small = run_json(runner, EXPORT, "--field", "sentiment", "--metric", "gwet_ac1",
                     "--by", "slice:source", "--min-items", "150")
    assert small["results"][0]["reason"].startswith("small slice: 103 tasks (< min_items=150)")


def test_by_time(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--field", "sentiment", "--metric", "krippendorff_alpha",
                       "--by", "time:week")
    periods = [r["period"] for r in payload["results"]]
    assert periods[0] == "2024-03-04" and periods[-1] == "2024-04-22" and len(periods) == 8
    before = [r["value"] for r in payload["results"][:4]]
    after = [r["value"] for r in payload["results"][4:]]
    assert sum(after) / 4 > sum(before) / 4  # planted guideline revision on 2024-04-01


def test_table_format(runner: CliRunner) -> None:
    result = run(runner, "agreement", EXPORT, "--field", "sentiment", "--by", "time:month",
                 "--metric", "percent_agreement")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["metric", "period", "value", "95%", "CI", "se", "n_items",
                                "n_annotations", "reason"]
    assert lines[2].startswith("percent_agreement  2024-03-01")
    assert "2 cancelled annotation(s) left out" in result.stderr


def test_long_csv_demo_runs(runner: CliRunner) -> None:
    payload = run_json(runner, LONG_CSV, "--metric", "fleiss_kappa", "--by", "slice:lang")
    assert [r["slice"]["value"] for r in payload["results"]] == ["en", "en-GB", "en-IN"]


# --- errors -------------------------------------------------------------------------
def one_line_error(result: Any) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return str(result.stderr.splitlines()[0])


def test_several_fields_without_field_names_them(runner: CliRunner) -> None:
    line = one_line_error(run(runner, "agreement", EXPORT))
    assert "sentiment, toxicity" in line and "--field" in line


def test_unknown_field(runner: CliRunner) -> None:
    line = one_line_error(run(runner, "agreement", EXPORT, "--field", "topic"))
    assert 'field "topic" not found; the table has: sentiment, toxicity' in line


def test_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    line = one_line_error(run(runner, "agreement", str(tmp_path / "nope.json")))
    assert "nope.json" in line


def test_bad_file(runner: CliRunner, tmp_path: Path) -> None:
    line = one_line_error(run(runner, "agreement", write(tmp_path, "bad.json", "[{not json")))
    assert "bad.json" in line


def test_unknown_metric_is_a_usage_error(runner: CliRunner) -> None:
    result = run(runner, "agreement", EXPORT, "--field", "sentiment", "--metric", "kappa")
    assert result.exit_code == 2
    assert "unknown metric 'kappa'; choose from krippendorff_alpha" in result.stderr


@pytest.mark.parametrize("by", ["annotators", "slice:", "time:year", "class:x"])
def test_bad_by_is_a_usage_error(runner: CliRunner, by: str) -> None:
    result = run(runner, "agreement", EXPORT, "--field", "sentiment", "--by", by)
    assert result.exit_code == 2
    assert "is not one of annotator, class, slice:COLUMN, time:FREQ" in result.stderr


def test_unknown_slice_column_is_one_line(runner: CliRunner) -> None:
    line = one_line_error(run(runner, "agreement", EXPORT, "--field", "sentiment",
                              "--metric", "fleiss_kappa", "--by", "slice:colour"))
    assert 'no column "colour" to slice by' in line


def test_undefined_coefficient_prints_null_and_reason(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "same.csv", "item_id,annotator_id,label\n1,a,x\n1,b,x\n2,a,x\n2,b,x\n")
    payload = run_json(runner, path, "--metric", "krippendorff_alpha,fleiss_kappa")
    for r in payload["results"]:
        assert r["value"] is None and r["ci"] is None
        assert isinstance(r["reason"], str) and r["reason"]
    table = run(runner, "agreement", path, "--metric", "fleiss_kappa")
    assert table.exit_code == 0 and "  -  " in table.stdout


def test_metric_that_cannot_run_on_the_field_gets_a_reason(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--field", "sentiment", "--metric", "fleiss_kappa,icc_oneway")
    kappa, icc = payload["results"]
    assert kappa["value"] is not None
    assert icc["value"] is None and "not numbers" in icc["reason"]


def test_import_problems_warn_and_analysis_continues(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "gaps.csv",
                 "item_id,annotator_id,label\n1,a,x\n1,b,x\n2,a,y\n2,b,x\n3,,x\n3,b,y\n")
    result = run(runner, "agreement", path, "--metric", "percent_agreement", "--format", "json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["import"]["n_problems"] >= 1
    assert set(payload["import"]["problems"][0]) == {
        "message", "source", "source_row", "task_id", "annotation_id", "field"}
    assert result.stderr.startswith("warning: ")
    strict = run(runner, "agreement", path, "--metric", "percent_agreement", "--strict")
    assert strict.exit_code == 1 and "Traceback" not in strict.stderr
