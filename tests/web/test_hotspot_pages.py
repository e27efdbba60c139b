"""'What to fix first' on the demo project: the planted story is on top (the Billing /
Refund confusion, the careless and the contrarian annotators, the phone slice), each row
opens a drill-down with its plot data and example items, and a label pair's suggestion is
accepted into the guideline draft or dismissed with a reason, both recorded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from labelcheck.storage import guidelines as store
from tests.support.demo_app import demo_app, sign_in


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, int, str]]:
    app, project_id, password = demo_app(tmp_path_factory.mktemp("hotspot-demo"),
                                         {"JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False})
    yield app, project_id, password
    app.extensions["labelcheck.db"].dispose()


def page(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def ranked_rows(html: str) -> list[tuple[str, str]]:
    body = html[html.index('id="hotspots"'):]
    return re.findall(r"<td>([A-Z][a-z]+(?: [a-z]+)?)</td>\s*<td><a href=\"[^\"]+\">([^<]+)</a>", body)


def test_the_planted_story_tops_what_to_fix_first(demo: tuple[Flask, int, str]) -> None:
    app, pid, password = demo
    html = page(sign_in(app, "engineer@demo.labelcheck", password).get(f"/projects/{pid}/hotspots?field=intent"))
    rows = ranked_rows(html)
    top = rows[:6]
    assert ("Annotator bias", "15") in top  # the careless annotator
    assert ("Label pair", "Billing ↔ Refund") in top  # the confused pair
    assert ("Slice", "channel = phone") in top  # the harder slice
    assert ("Annotator bias", "9") in top  # the contrarian who reads the sentence the other way
    for column in ("Share", "Agreement", "Gap", "Gain", "q"):
        assert f"<dt>{column}</dt>" in html  # each column explained in a sentence
    assert "Show all" in html and len(rows) == 40


def test_a_drill_down_has_numbers_plot_data_and_item_links(demo: tuple[Flask, int, str]) -> None:
    app, pid, password = demo
    client = sign_in(app, "engineer@demo.labelcheck", password)
    rows = ranked_rows(page(client.get(f"/projects/{pid}/hotspots?field=intent")))
    rank = rows.index(("Slice", "channel = phone")) + 1
    html = page(client.get(f"/projects/{pid}/hotspots/{rank}?field=intent"))
    data = json.loads(html.split('id="hotspot-data">')[1].split("</script>")[0])
    assert data["label"] == "channel = phone" and data["agreement"] < data["rest"] < 1
    assert data["ci"][0] < data["agreement"] < data["ci"][1] and data["target"] == 0.8
    links = re.findall(rf'href="(/projects/{pid}/items/[^"]+)"', html)
    assert links and all(client.get(url).status_code == 200 for url in links[:3])
    assert 'id="suggestion"' not in html  # suggestions are for label pairs
    assert client.get(f"/projects/{pid}/hotspots/999?field=intent").status_code == 404


def test_a_suggestion_is_accepted_into_the_draft_or_dismissed_with_a_reason(demo: tuple[Flask, int, str]) -> None:
    app, pid, password = demo
    db = app.extensions["labelcheck.db"]
    lead = sign_in(app, "lead@demo.labelcheck", password)
    rows = ranked_rows(page(lead.get(f"/projects/{pid}/hotspots?field=intent")))
    rank = rows.index(("Label pair", "Billing ↔ Refund")) + 1
    html = page(lead.get(f"/projects/{pid}/hotspots/{rank}?field=intent"))
    suggestion = html[html.index('id="suggestion"'):html.index("</article>", html.index('id="suggestion"'))]
    assert "Billing and Refund are confused 828 times where chance predicts 216" in suggestion
    assert "Annotator 9 answers Billing where the others&#39; plurality is Refund" in suggestion
    assert "What the guideline says today" in suggestion  # passages of the current version (v2)
    assert "When an item could be Billing or Refund" in suggestion

    dismissed = lead.post(f"/projects/{pid}/hotspots/{rank}/decide?field=intent", data={"action": "dismiss"})
    assert dismissed.status_code == 302
    assert "say why the suggestion is dismissed" in page(lead.get(dismissed.headers["Location"]))
    lead.post(f"/projects/{pid}/hotspots/{rank}/decide?field=intent",
              data={"action": "dismiss", "reason": "v2 already answers it"})
    accepted = lead.post(f"/projects/{pid}/hotspots/{rank}/decide?field=intent",
                         data={"action": "accept", "proposal": "**Billing or Refund?** Refund if money back."})
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/guideline/edit")
    draft = store.draft(db, pid)
    assert draft["body"].rstrip().endswith("**Billing or Refund?** Refund if money back.")
    assert draft["accepted_suggestions"] == ["intent:Billing|Refund"]
    assert {"Billing", "Refund"} <= set(draft["targeted_labels"]) and draft["example_task_ids"]
    history = store.suggestion_decisions(db, pid)["intent:Billing|Refund"]
    assert [d["status"] for d in history] == ["accepted", "dismissed"]
    assert history[1]["reason"] == "v2 already answers it" and history[0]["by"] == "lead@demo.labelcheck"
    listing = page(lead.get(f"/projects/{pid}/hotspots?field=intent"))
    assert re.search(r"Billing ↔ Refund</a>.*?<td>accepted</td>", listing, re.S)
    engineer = sign_in(app, "engineer@demo.labelcheck", password)
    assert engineer.post(f"/projects/{pid}/hotspots/{rank}/decide?field=intent",
                         data={"action": "dismiss", "reason": "x"}).status_code == 403
