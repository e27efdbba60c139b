"""End to end in real headless Chromium (Debian's package, driven by Playwright): the demo
project loaded by ``labelcheck demo``, served by waitress on loopback.

Every request the pages make is checked to stay on the app's own origin (assets are
served locally; nothing from a CDN)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from labelcheck.cli import main
from labelcheck.web import create_app
from tests.support.live_server import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.integration

LEAD = "lead@demo.labelcheck"
ANNOTATOR = "amara.okafor@kestrel-labels.example"


@dataclass
class Demo:
    url: str
    password: str
    project_id: int
    outside_requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    instance = tmp_path_factory.mktemp("demo-instance")
    result = CliRunner().invoke(main, ["demo", "--instance", str(instance)])
    assert result.exit_code == 0, result.output
    app = create_app(instance_path=instance)
    from labelcheck.storage.models import Project

    with app.extensions["labelcheck.db"].session() as session:
        project_id = session.query(Project.id).order_by(Project.id).first()[0]
    password = (Path(instance) / "demo_password").read_text(encoding="utf-8").strip()
    with LiveServer(app, threads=4) as server:
        yield Demo(server.url, password, project_id)
    app.extensions["labelcheck.db"].dispose()


def watch_origin(page: Page, demo: Demo) -> None:
    def check(request: object) -> None:
        url = getattr(request, "url")
        if not (url.startswith(demo.url) or url.startswith("data:") or url.startswith("blob:")):
            demo.outside_requests.append(url)

    page.on("request", check)


def sign_in(page: Page, demo: Demo, email: str) -> None:
    watch_origin(page, demo)
    page.goto(demo.url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", demo.password)
    page.click("button[type=submit]")
    page.wait_for_url(demo.url + "/")


def test_lead_signs_in_and_sees_the_demo_project(page: Page, demo: Demo) -> None:
    sign_in(page, demo, LEAD)
    assert page.get_by_role("link", name="Kestrel", exact=False).count() >= 1
    assert demo.outside_requests == []


def test_overview_draws_its_plots(page: Page, demo: Demo) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, demo, LEAD)
    page.goto(f"{demo.url}/projects/{demo.project_id}")
    for plot in ("plot-over-time", "plot-confusion", "plot-annotators"):
        # plotly renders an <svg class="main-svg"> inside the container once drawn
        page.wait_for_selector(f"#{plot} svg.main-svg", timeout=15_000)
    heatmap_cells = page.locator("#plot-confusion .hm, #plot-confusion image, #plot-confusion .heatmaplayer")
    assert heatmap_cells.count() >= 1
    assert "Krippendorff" in page.content()
    assert errors == []
    assert demo.outside_requests == []
    page.screenshot(path=str(Path(demo_screenshot_dir()) / "overview.png"), full_page=True)


def test_item_browser_opens_an_item_with_every_annotation(page: Page, demo: Demo) -> None:
    sign_in(page, demo, LEAD)
    page.goto(f"{demo.url}/projects/{demo.project_id}/items")
    first = page.locator("table tbody tr a").first
    first.click()
    page.wait_for_load_state()
    assert "/items/" in page.url
    body = page.content()
    assert "annotator" in body.lower()
    # three to five annotators labelled each demo ticket; each has a column
    assert page.locator("[data-testid=annotator-column]").count() >= 1
    assert demo.outside_requests == []


def test_an_annotator_is_refused_the_overview(page: Page, demo: Demo) -> None:
    sign_in(page, demo, ANNOTATOR)
    response = page.goto(f"{demo.url}/projects/{demo.project_id}")
    assert response is not None and response.status == 403
    assert "may not open this page" in page.content()


def demo_screenshot_dir() -> str:
    import tempfile

    folder = Path(tempfile.gettempdir()) / "labelcheck-browser"
    folder.mkdir(exist_ok=True)
    return str(folder)


def test_what_to_fix_first_leads_to_a_suggestion_and_an_example_item(page: Page, demo: Demo) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, demo, LEAD)
    page.goto(f"{demo.url}/projects/{demo.project_id}")
    page.get_by_role("button", name="What to fix first").click()
    page.wait_for_url("**/hotspots")
    page.get_by_role("link", name="Billing ↔ Refund").first.click()
    page.wait_for_selector("#hotspot-plot svg.main-svg", timeout=15_000)
    assert page.locator("#suggestion").count() == 1
    assert "When an item could be Billing or Refund" in page.locator("#suggestion").inner_text()
    page.locator("ul.examples a").first.click()
    page.wait_for_load_state()
    assert "/items/" in page.url and page.locator("[data-testid=annotator-column]").count() >= 1
    assert errors == [] and demo.outside_requests == []


def test_an_annotator_reads_the_guideline_and_acknowledges_it(page: Page, demo: Demo) -> None:
    sign_in(page, demo, ANNOTATOR)
    page.get_by_role("link", name="guideline").first.click()
    page.wait_for_url("**/guideline")
    assert "Guideline, version 2" in page.content()
    page.get_by_role("button", name="I have read version 2").click()
    page.wait_for_url("**/guideline")
    assert "You have read this version" in page.content()
    assert demo.outside_requests == []


def test_a_lead_adjudicates_the_top_item_of_the_queue(page: Page, demo: Demo) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, demo, LEAD)
    page.goto(f"{demo.url}/projects/{demo.project_id}")
    page.get_by_role("button", name="Adjudicate").click()
    page.wait_for_url("**/adjudication")
    top = page.locator("[data-testid=queue-item]").first
    task_id = top.inner_text()
    top.click()
    page.wait_for_url(f"**/items/{task_id}**")
    form = page.locator("[data-testid=adjudicate-intent]")
    form.locator("select").select_option("Refund")
    form.locator("textarea").fill("the money was already taken: the refund rule applies")
    form.get_by_role("button", name="Record decision").click()
    page.wait_for_load_state()
    assert f"Recorded for item {task_id}, intent: Refund." in page.locator(".flash").first.inner_text()
    assert "Refund" in page.locator("[data-testid=decision-in-force]").inner_text()
    page.goto(f"{demo.url}/projects/{demo.project_id}/adjudication")
    assert task_id not in page.locator("[data-testid=queue]").inner_text()
    assert errors == [] and demo.outside_requests == []
