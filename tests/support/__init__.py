"""Test infrastructure for real servers: a throwaway PostgreSQL cluster
(:mod:`tests.support.postgres`), a WSGI app served on loopback
(:mod:`tests.support.live_server`) and headless Chromium driven by Playwright
(:mod:`tests.support.browser`).

A test that needs one of these and cannot get it (binaries not installed) is skipped on
a developer's machine but fails when ``CI=true``: CI must never pass by skipping the
integration tests.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

#: The 400-task sentiment export the web and storage tests upload (its generator is
#: beside it, ``tests/data/sentiment/make_sentiment.py``).
SENTIMENT_EXPORT = Path(__file__).resolve().parents[1] / "data" / "sentiment" / "demo_export.json"


def in_ci() -> bool:
    """True when the ``CI`` environment variable says we run in continuous integration
    (``true``, ``1`` or ``yes``, any case; GitHub Actions and GitLab set ``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the current test locally; fail it under CI (see :func:`in_ci`)."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: integration tests are never skipped)", pytrace=False)
    pytest.skip(reason)
