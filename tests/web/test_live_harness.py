"""The live-server and browser harness (tests/support) that the end-to-end tests use."""

from __future__ import annotations

import urllib.request
from typing import TYPE_CHECKING

import pytest
from flask import Flask

from tests.support.live_server import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page


def _hello_app() -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/", "index", lambda: "<!doctype html><title>labelcheck harness</title>")
    return app


def test_live_server_serves_on_loopback_and_stops() -> None:
    with LiveServer(_hello_app()) as server:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url, timeout=10) as response:
            assert response.status == 200
            assert b"<title>labelcheck harness</title>" in response.read()
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url, timeout=2)


@pytest.mark.integration
def test_browser_reads_the_page_title(page: Page) -> None:
    with LiveServer(_hello_app()) as server:
        page.goto(server.url)
        assert page.title() == "labelcheck harness"
