"""``labelcheck consensus``: a contract that external checks run against."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from labelcheck import cli
from labelcheck.commands import consensus as command

ROOT = Path(__file__).resolve().parents[2]
SENTIMENT = ROOT / "tests" / "data" / "sentiment"
EXPORT = str(SENTIMENT / "demo_export.json")
LONG_CSV = str(SENTIMENT / "demo_long.csv")
TICKETS = ROOT / "labelcheck" / "demo" / "support_tickets.json"
TRUTH = ROOT / "labelcheck" / "demo" / "truth.csv"
METHODS = ("majority_vote", "dawid_skene", "mace")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(cli.main, ["consensus", *args], catch_exceptions=False)


def run_json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = run(runner, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert isinstance(payload, dict)
    return payload


# --- contract ------------------------------------------------------------------------
def test_contract_options_are_declared() -> None:
    options = {o for p in command.consensus.params for o in getattr(p, "opts", [])}
    assert {"--method", "--field", "--format", "--tie", "--max-iter", "--tol", "--smoothing",
            "--restarts", "--seed", "--categories", "--strict"} <= options
    method = next(p for p in command.consensus.params if p.name == "method")
    # the contract's models, then (added) auto and the rules of the other answer types
    assert tuple(method.type.choices) == ("auto", *METHODS, *command.STRUCTURED_METHODS)  # type: ignore[attr-defined]
    fmt = next(p for p in command.consensus.params if p.name == "fmt")
    assert tuple(fmt.type.choices) == ("csv", "json")  # type: ignore[attr-defined]


@pytest.mark.parametrize("method", METHODS)
def test_json_shape(runner: CliRunner, method: str) -> None:
    payload = run_json(runner, EXPORT, "--method", method, "--field", "sentiment")
    assert {"items", "annotators"} <= set(payload)
    assert payload["method"] == method and payload["field"] == "sentiment"
    assert len(payload["items"]) == 400
    cats = {"Positive", "Negative", "Neutral", "Mixed"}
    for item in payload["items"]:
        assert {"item_id", "label", "confidence", "tie", "posterior"} <= set(item)
        assert isinstance(item["item_id"], str) and isinstance(item["tie"], bool)
        assert set(item["posterior"]) == cats
        assert sum(item["posterior"].values()) == pytest.approx(1.0, abs=1e-9)
        assert item["label"] is None or item["label"] in cats
        assert 0 < item["confidence"] <= 1
    assert [a["annotator_id"] for a in payload["annotators"]] == ["13", "2", "21", "3", "5", "8"]
    for annotator in payload["annotators"]:
        assert {"annotator_id", "n_annotations", "reliability"} <= set(annotator)
    # the planted noisy annotator 13 is the least reliable under every model
    worst = min(payload["annotators"], key=lambda a: a["reliability"])
    assert worst["annotator_id"] == "13"


def test_a_tie_is_null_and_true_under_the_default_policy(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--field", "sentiment")
    ties = [i for i in payload["items"] if i["tie"]]
    assert len(ties) == 20
    for item in ties:
        assert item["label"] is None
        assert item["reason"].startswith("tie between ")
        assert item["confidence"] == max(item["posterior"].values())
    assert all(i["label"] is not None and i["reason"] is None for i in payload["items"] if not i["tie"])


def test_deterministic_ties_have_a_label_and_stay_flagged(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--field", "sentiment", "--tie", "deterministic")
    assert all(i["label"] is not None for i in payload["items"])
    assert sum(i["tie"] for i in payload["items"]) == 20


def test_csv_is_one_row_per_item(runner: CliRunner) -> None:
    result = run(runner, EXPORT, "--field", "sentiment", "--method", "dawid_skene")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["item_id", "label", "confidence", "tie", "p_Mixed", "p_Negative",
                       "p_Neutral", "p_Positive", "reason", "n_answers"]
    assert len(rows) == 401
    frame = pd.read_csv(io.StringIO(result.stdout), dtype={"item_id": str})
    assert frame["item_id"].is_unique
    assert frame.filter(like="p_").sum(axis=1).to_numpy() == pytest.approx(1.0)


def test_csv_unresolved_label_is_empty(runner: CliRunner) -> None:
    result = run(runner, EXPORT, "--field", "sentiment")
    frame = pd.read_csv(io.StringIO(result.stdout), dtype={"item_id": str}, keep_default_na=False)
    ties = frame[frame["tie"]]
    assert len(ties) == 20 and (ties["label"] == "").all() and (ties["reason"] != "").all()


def test_long_csv_and_options(runner: CliRunner) -> None:
    payload = run_json(runner, LONG_CSV, "--method", "dawid_skene", "--max-iter", "3",
                       "--tol", "0", "--smoothing", "0.5")
    assert payload["model"]["n_iter"] == 3 and payload["model"]["smoothing"] == 0.5
    mace = run_json(runner, LONG_CSV, "--method", "mace", "--restarts", "2", "--seed", "3")
    assert mace["model"]["n_restarts"] == 2 and mace["model"]["seed"] == 3
    declared = run_json(runner, LONG_CSV, "--categories", "Positive,Negative,Neutral,Mixed,Other")
    assert list(declared["items"][0]["posterior"]) == ["Positive", "Negative", "Neutral", "Mixed", "Other"]


def test_repeated_runs_print_the_same_bytes(runner: CliRunner) -> None:
    args = (EXPORT, "--field", "sentiment", "--method", "mace", "--format", "json")
    assert run(runner, *args).stdout == run(runner, *args).stdout


# --- errors ----------------------------------------------------------------------------
def test_several_fields_without_field_is_one_line_exit_1(runner: CliRunner) -> None:
    result = run(runner, EXPORT)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: the table has 2 fields (sentiment, toxicity); choose one with field=... "
        "(CLI: --field NAME)\n"
    )


def test_missing_file_and_unknown_field(runner: CliRunner, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    result = run(runner, missing)
    assert result.exit_code == 1 and result.stderr == f"Error: nope.json: no such file ({missing})\n"
    result = run(runner, EXPORT, "--field", "mood")
    assert result.exit_code == 1
    assert result.stderr == 'Error: field "mood" not found; the table has: sentiment, toxicity\n'


@pytest.mark.parametrize(
    "args, message",
    [
        (("--method", "dawid_skene", "--tie", "reliability"),
         "--tie reliability applies to --method majority_vote only"),
        (("--smoothing", "0.1"), "--smoothing applies to --method dawid_skene, not majority_vote"),
        (("--method", "dawid_skene", "--restarts", "3"), "--restarts applies to --method mace, not dawid_skene"),
        (("--max-iter", "5"), "--max-iter applies to --method dawid_skene or mace, not majority_vote"),
    ],
)
def test_options_that_do_not_apply_are_usage_errors(runner: CliRunner, args: tuple[str, ...], message: str) -> None:
    result = run(runner, EXPORT, "--field", "sentiment", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_unknown_method_is_a_usage_error(runner: CliRunner) -> None:
    result = run(runner, EXPORT, "--method", "glad")
    assert result.exit_code == 2 and "'glad' is not one of" in result.stderr


def test_reliability_ties_work_for_majority_vote(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--field", "sentiment", "--tie", "reliability")
    assert sum(i["label"] is None for i in payload["items"]) < 20
    assert payload["model"]["tie_policy"] == "reliability"


def test_the_command_module_imports_no_numerics() -> None:
    code = ("import sys, labelcheck.commands.consensus\n"
            "print(sorted(m for m in ('pandas', 'numpy', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the support-ticket demo: models against the planted truth -------------------------
@pytest.mark.skipif(not (TICKETS.exists() and TRUTH.exists()), reason="support-ticket demo not generated")
def test_dawid_skene_beats_majority_vote_on_the_ticket_demo(runner: CliRunner) -> None:
    truth = pd.read_csv(TRUTH, dtype=str).set_index("task_id")["intent"]

    def accuracy(*args: str) -> float:
        payload = run_json(runner, str(TICKETS), "--field", "intent", *args)
        labels = pd.Series({i["item_id"]: i["label"] for i in payload["items"]})
        return float((labels == truth.reindex(labels.index)).mean())

    majority = accuracy("--method", "majority_vote", "--tie", "deterministic")
    ds = accuracy("--method", "dawid_skene")
    assert ds > majority
