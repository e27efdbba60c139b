"""``labelcheck revision-effect``: a contract that external checks run against.

The fixture is the sentiment project (``tests/data/sentiment``), whose guideline
revision at 2024-04-01T09:00:00Z cut the Neutral/Mixed confusion from 0.40 to 0.05
(``labelcheck/demo/README.md`` of the first demo).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from labelcheck import cli

SENTIMENT = Path(__file__).resolve().parents[1] / "data" / "sentiment"
EXPORT = str(SENTIMENT / "demo_export.json")
LONG_CSV = str(SENTIMENT / "demo_long.csv")
AT = "2024-04-01T09:00:00Z"
COMPARISON_KEYS = {"before", "after", "difference", "ci", "p_value", "n_items_before",
                   "n_items_after", "conclusive", "verdict"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(cli.main, ["revision-effect", *args], catch_exceptions=False)


def run_json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = run(runner, *args, "--format", "json")
    assert result.exit_code == 0, result.output + result.stderr
    payload = json.loads(result.stdout)
    assert isinstance(payload, dict)
    return payload


def test_the_contract_options_are_declared() -> None:
    command = cli.main.commands["revision-effect"]
    options = {o for p in command.params for o in getattr(p, "opts", [])}
    assert {"--at", "--field", "--labels", "--format"} <= options
    assert [p.name for p in command.params if not getattr(p, "opts", ["-"])[0].startswith("-")] == ["file"]


def test_json_shape_is_the_contract(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--at", AT, "--field", "sentiment", "--n-boot", "200",
                       "--n-perm", "200")
    assert {"overall", "targeted", "same_annotators"} <= set(payload)
    assert payload["targeted"] is None  # no --labels
    for name in ("overall", "same_annotators"):
        c = payload[name]
        assert COMPARISON_KEYS <= set(c)
        assert all(isinstance(c[k], float) for k in ("before", "after", "difference", "p_value"))
        assert isinstance(c["ci"], list) and len(c["ci"]) == 2
        assert all(isinstance(c[k], int) for k in ("n_items_before", "n_items_after"))
        assert isinstance(c["conclusive"], bool)
        assert isinstance(c["verdict"], str) and c["verdict"].endswith(".")
        assert c["difference"] == pytest.approx(c["after"] - c["before"])
    assert payload["at"] == "2024-04-01T09:00:00+00:00"
    assert payload["field"] == "sentiment"
    assert payload["n_annotations_without_time"] == 0


def test_the_planted_revision_shows_a_conclusive_rise_on_the_confused_pair(runner: CliRunner) -> None:
    payload = run_json(runner, EXPORT, "--at", AT, "--field", "sentiment",
                       "--labels", "Neutral,Mixed")
    targeted = payload["targeted"]
    assert targeted["restricted_to"]["labels"] == ["Neutral", "Mixed"]
    assert targeted["conclusive"] is True
    assert targeted["difference"] > 0 and targeted["ci"][0] > 0 and targeted["p_value"] < 0.05
    assert targeted["verdict"].endswith("the revision is followed by higher agreement.")
    assert payload["overall"]["conclusive"] is True


def test_table_output_lists_the_comparisons_and_verdicts(runner: CliRunner) -> None:
    result = run(runner, EXPORT, "--at", AT, "--field", "sentiment", "--labels", "Neutral",
                 "--n-boot", "200", "--n-perm", "200")
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["comparison", "before", "after", "difference"]
    for name in ("overall", "targeted", "same_annotators"):
        assert any(line.startswith(name + " ") for line in lines)
        assert any(line.startswith(f"{name}: Agreement ") for line in lines)
    assert "revision at 2024-04-01T09:00:00+00:00" in result.stderr


def test_a_long_csv_works_too(runner: CliRunner) -> None:
    payload = run_json(runner, LONG_CSV, "--at", "2024-04-01T09:00:00", "--n-boot", "100",
                       "--n-perm", "100")
    assert payload["overall"]["n_items_before"] > 0 and payload["overall"]["n_items_after"] > 0


def test_answers_without_time_are_warned_about_and_counted(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "ratings.csv"
    lines = ["item_id,annotator_id,label,created_at"]
    for i in range(40):
        for a, when in (("a", "2024-03-01"), ("b", "2024-03-01"), ("c", "2024-05-01")):
            lines.append(f"t{i},{a},{'x' if i % 3 else 'y'},{when}")
    lines.append("t0,d,x,")
    path.write_text("\n".join(lines) + "\n")
    result = run(runner, str(path), "--at", "2024-04-01", "--format", "json", "--n-boot", "50",
                 "--n-perm", "50")
    assert result.exit_code == 0, result.output + result.stderr
    payload = json.loads(result.stdout)
    assert payload["n_annotations_without_time"] == 1
    assert "warning: 1 answer(s) without created_at left out" in result.stderr


def test_a_malformed_time_is_a_usage_error(runner: CliRunner) -> None:
    result = run(runner, EXPORT, "--at", "last tuesday")
    assert result.exit_code == 2
    assert "'last tuesday' is not an ISO 8601 time" in result.stderr


def test_at_is_required(runner: CliRunner) -> None:
    result = run(runner, EXPORT, "--field", "sentiment")
    assert result.exit_code == 2
    assert "--at" in result.stderr


def test_an_unknown_label_is_a_one_line_error(runner: CliRunner) -> None:
    result = run(runner, EXPORT, "--at", AT, "--field", "sentiment", "--labels", "Neutrl")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        'Error: field "sentiment": label(s) Neutrl not found; '
        "the field's labels are Mixed, Negative, Neutral, Positive"
    ]


def test_several_fields_need_field(runner: CliRunner) -> None:
    result = run(runner, EXPORT, "--at", AT)
    assert result.exit_code == 1
    assert "--field NAME" in result.stderr


#: The bundled demo (labelcheck/demo/README.md): guideline v2, published at this time,
#: separates Billing from Refund (guideline_v2.md, "What changed since version 1").
DEMO = Path(__file__).resolve().parents[2] / "labelcheck" / "demo" / "support_tickets.json"
DEMO_REVISION = "2025-04-01T09:00:00Z"


def test_the_demo_revision_shows_a_significant_conclusive_rise_on_billing_refund(
    runner: CliRunner,
) -> None:
    payload = run_json(runner, str(DEMO), "--at", DEMO_REVISION, "--field", "intent",
                       "--labels", "Billing,Refund")
    targeted, overall = payload["targeted"], payload["overall"]
    assert targeted["conclusive"] is True
    assert targeted["ci"][0] > 0 and targeted["p_value"] < 0.01
    assert targeted["difference"] > overall["difference"] > 0  # the confused pair gains most
    assert min(targeted["n_items_before"], targeted["n_items_after"]) >= 30
    assert targeted["verdict"].startswith("Agreement rose from ")
    assert targeted["verdict"].endswith(": the revision is followed by higher agreement.")
