"""Spans and boxes on the item page, rendered by real headless Chromium: each
annotation's boxes are drawn over the image where the annotator put them (the SVG overlay
is laid out on the image), and its spans are highlighted in the text."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from labelcheck.web import create_app
from labelcheck.web.auth import create_user
from tests.support.live_server import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.integration

MIXED = Path(__file__).parents[1] / "data" / "mixed" / "mixed_export.json"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    app = create_app({"JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False, "BOOTSTRAP_RESAMPLES": 50},
                     instance_path=tmp_path_factory.mktemp("mixed-browser"))
    create_user(app.extensions["labelcheck.db"], "lead@example.com", PASSWORD, "lead")
    client = app.test_client()
    client.post("/login", data={"email": "lead@example.com", "password": PASSWORD})
    response = client.post("/projects/new", data={"name": "mixed", "file": (io.BytesIO(MIXED.read_bytes()),
                                                                             "mixed_export.json")})
    project = "/projects/" + response.headers["Location"].split("/projects/")[1].split("/")[0]
    with LiveServer(app, threads=2) as server:
        yield server.url, project
    app.extensions["labelcheck.db"].dispose()


def test_boxes_sit_on_the_image_and_spans_are_highlighted(page: Page, mixed: tuple[str, str]) -> None:
    url, project = mixed
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url + "/login")
    page.fill("input[name=email]", "lead@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")
    page.goto(f"{url}{project}/items/7001")
    figures = page.locator("[data-testid=drawn-box] figure")
    assert figures.count() == 3
    boxes = []
    for k in range(3):
        image = figures.nth(k).locator("img").bounding_box()
        car = figures.nth(k).locator("rect[data-label=car]").bounding_box()
        assert image is not None and car is not None and image["width"] > 100
        # in percent of the image, where the annotator drew it: x 20 (annotator 2: 23), width 20;
        # the centre, because the bounding box includes the 2 px stroke
        centre = (car["x"] + car["width"] / 2 - image["x"]) / image["width"] * 100
        boxes.append((centre, car["width"] / image["width"] * 100))
    assert boxes[0][0] == pytest.approx(30, abs=0.5) and boxes[0][1] == pytest.approx(20, abs=2)
    assert boxes[1][0] == pytest.approx(33, abs=0.5)  # annotator 2 shifts by 3 %
    marks = page.locator("[data-testid=drawn-ner] mark.span")
    assert marks.count() == 9  # three spans by each of three annotations
    assert page.locator("[data-testid=drawn-ner] mark[data-label=ORG]").nth(2).inner_text().startswith("Acme Corp flew")  # annotator 3 stretches ORG
    assert errors == []
