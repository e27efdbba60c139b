"""``labelcheck hotspots``: the JSON contract (checks outside the project run against it),
the table, and the errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from labelcheck import cli

ROOT = Path(__file__).resolve().parents[2]
SENTIMENT = ROOT / "tests" / "data" / "sentiment"
EXPORT = str(SENTIMENT / "demo_export.json")
LONG_CSV = str(SENTIMENT / "demo_long.csv")

#: The keys the contract names, in its words; more may be added, none renamed.
CONTRACT_KEYS = {"kind", "key", "share", "agreement", "gap", "gain", "p_value", "q_value",
                 "significant", "evidence"}
#: What we add (pinned so that a change is deliberate).
EXTRA_KEYS = {"priority", "ci", "reference", "chance_ratio", "test", "n_items", "n_annotations"}
KINDS = {"label_pair", "annotator", "annotator_bias", "slice", "period", "item"}


def run(*args: str) -> Any:
    return CliRunner().invoke(cli.main, ["hotspots", *args], catch_exceptions=False)


def run_json(*args: str) -> dict[str, Any]:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def test_contract_options_are_declared() -> None:
    command = cli.main.commands["hotspots"]  # type: ignore[attr-defined]
    options = {o for p in command.params for o in getattr(p, "opts", [])}
    assert {"--field", "--target", "--slice", "--period", "--format"} <= options


def test_json_shape_pinned() -> None:
    payload = run_json(EXPORT, "--field", "sentiment")
    assert set(payload) >= {"hotspots"}
    assert set(payload) == {"hotspots", "field", "level", "target", "fdr", "overall",
                            "slice_columns", "period", "trend", "skipped", "file"}
    spots = payload["hotspots"]
    assert spots and {h["kind"] for h in spots} <= KINDS
    for h in spots:
        assert set(h) == CONTRACT_KEYS | EXTRA_KEYS
        assert isinstance(h["significant"], bool)
        for name in ("share", "agreement", "gap", "gain", "priority"):
            assert isinstance(h[name], float)
        assert h["p_value"] is None or 0 <= h["p_value"] <= 1
        assert h["q_value"] is None or 0 <= h["q_value"] <= 1
        assert isinstance(h["evidence"]["example_item_ids"], list)
        assert all(isinstance(x, str) for x in h["evidence"]["example_item_ids"])
        assert isinstance(h["evidence"]["counts"], dict)
        key = h["key"]
        if h["kind"] == "label_pair":
            assert isinstance(key, list) and len(key) == 2
        elif h["kind"] == "slice":
            assert set(key) == {"column", "value"}
        elif h["kind"] == "period":
            assert len(key) == 10 and key[4] == "-"  # ISO date of the window's first day
        else:
            assert isinstance(key, str)
    priorities = [h["priority"] for h in spots]
    assert priorities == sorted(priorities, reverse=True)  # ranked by priority


def test_json_top_of_the_sentiment_demo() -> None:
    spots = run_json(EXPORT, "--field", "sentiment")["hotspots"]
    assert [(h["kind"], h["key"]) for h in spots[:3]] == [
        ("annotator", "13"), ("label_pair", ["Mixed", "Neutral"]),
        ("slice", {"column": "source", "value": "forum"})]
    assert all(h["significant"] for h in spots[:3])


def test_long_csv_with_item_metadata_and_options() -> None:
    payload = run_json(LONG_CSV, "--slice", "source", "--slice", "lang", "--period", "month",
                       "--target", "0.7", "--items", "3", "--min-items", "40")
    assert payload["target"] == 0.7 and payload["period"] == "month"
    assert payload["slice_columns"] == ["source", "lang"]
    kinds = [h["kind"] for h in payload["hotspots"]]
    assert kinds.count("item") == 3 and "period" in kinds
    assert {h["key"]["value"] for h in payload["hotspots"] if h["kind"] == "slice"} >= {"forum"}
    assert payload["skipped"] == [{"kind": "slice", "key": {"column": "lang", "value": "en-IN"},
                                   "reason": "34 pairable task(s) (< min_items=40)"}]


def test_length_slice_and_top() -> None:
    payload = run_json(EXPORT, "--field", "sentiment", "--slice", "text:length", "--top", "4")
    assert len(payload["hotspots"]) == 4
    assert payload["slice_columns"] == ["text:length"]


def test_no_nan_in_json() -> None:
    result = run(EXPORT, "--field", "toxicity", "--format", "json")
    assert result.exit_code == 0
    text = result.stdout
    assert "NaN" not in text and "Infinity" not in text
    payload = json.loads(text)
    assert payload["level"] == "ordinal"  # the label config's Rating


def test_table_output() -> None:
    result = run(EXPORT, "--field", "sentiment", "--top", "5")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["rank", "kind", "key", "share"]
    assert "Mixed / Neutral" in result.stdout and "source=forum" in result.stdout
    assert len(lines) == 2 + 5
    assert 'field "sentiment"; alpha 0.573' in result.stderr
    assert "largest step at 2024-04-01" in result.stderr


@pytest.mark.parametrize("args, code, message", [
    (["--field", "nope"], 1, 'field "nope" not found'),
    ([], 1, "choose one with field="),
    (["--field", "sentiment", "--slice", "colour"], 1, 'no column "colour"'),
    (["--field", "sentiment", "--period", "year"], 2, "'year' is not one of"),
    (["--field", "sentiment", "--target", "1.5"], 2, "the target is an alpha value"),
])
def test_errors(args: list[str], code: int, message: str) -> None:
    result = run(EXPORT, *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_missing_file() -> None:
    result = run("no/such/file.json")
    assert result.exit_code == 1
    assert "no such file" in result.stderr


def test_help_lists_the_command_and_its_options() -> None:
    assert "hotspots" in CliRunner().invoke(cli.main, ["--help"]).output
    text = CliRunner().invoke(cli.main, ["hotspots", "--help"]).output
    for option in ("--field", "--target", "--slice", "--period", "--format"):
        assert option in text
