"""The README documents every CLI command, option and metric (datasette's test_docs idea)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from labelcheck.agreement import METRICS
from labelcheck.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, click.Command]]:
    group = main if isinstance(main, click.Group) else None
    if group is None:
        return [("labelcheck", main)]
    return [(name, cmd) for name, cmd in group.commands.items()]


@pytest.mark.parametrize("name, command", _commands())
def test_every_command_and_option_is_in_the_readme(name: str, command: click.Command) -> None:
    assert f"labelcheck {name}" in README, f"command {name} is not documented"
    for param in command.params:
        if isinstance(param, click.Option):
            for opt in param.opts:
                if opt.startswith("--"):
                    assert re.search(rf"`{re.escape(opt)}[ `=\\|]", README), (
                        f"option {opt} of `labelcheck {name}` is not documented in README.md"
                    )


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_every_metric_is_in_the_readme(metric: str) -> None:
    assert f"`{metric}`" in README


def test_the_two_setup_commands_are_in_the_readme_and_ci_runs_the_test_one() -> None:
    assert "bash scripts/demo.sh" in README
    assert "bash scripts/test.sh" in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/test.sh" in ci
