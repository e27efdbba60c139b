"""The Label Studio adapter's offline parts: label config -> field specs (with the lead's
overrides), secrets at rest, token kinds, retry policy and error explanations, and the
instruction sanitiser.  The server-side behaviour is in tests/integration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from labelcheck.errors import InvalidInput, LabelcheckError
from labelcheck.labelstudio.client import (
    ConnectionProblem,
    LabelStudioConnection,
    explain,
    normalise_base_url,
    token_kind,
    with_retries,
)
from labelcheck.labelstudio.label_config import field_specs, read_label_config
from labelcheck.labelstudio.publish import html_text, sanitise_html
from labelcheck.storage.secrets import SecretBox, same_secret, secret_digest

DEMO_CONFIG = (Path(__file__).resolve().parents[2] / "labelcheck" / "demo" / "label_config.xml").read_text()
MIXED = """<View><Text name="t" value="$t"/><Image name="img" value="$img"/>
<Choices name="tags" toName="t" choice="multiple"><Choice value="a"/><Choice value="b" alias="B"/></Choices>
<Labels name="ner" toName="t"><Label value="PER"/><Label value="ORG"/></Labels>
<RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels>
<Number name="n" toName="t" min="0" max="10"/><TextArea name="note" toName="t"/>
<Rating name="stars" toName="t"/><Relations><Relation value="x"/></Relations></View>"""
KEY = "0123456789abcdef0123456789abcdef01234567"


def test_demo_config_gives_ordered_categories_and_levels() -> None:
    controls = read_label_config(DEMO_CONFIG)
    assert [(c.name, c.tag, c.choice_mode) for c in controls] == [
        ("intent", "Choices", "single"), ("urgency", "Rating", None)]
    specs = field_specs(controls)
    assert specs["intent"].categories == ("Billing", "Refund", "Technical issue", "Account access",
                                          "Shipping", "Legal complaint")
    assert (specs["intent"].value_type, specs["intent"].level, specs["intent"].to_name) == ("choice", "nominal", "text")
    assert specs["urgency"].level == "ordinal" and specs["urgency"].categories == (1.0, 2.0, 3.0, 4.0)


def test_each_control_type_maps_to_a_value_type() -> None:
    controls = {c.name: c for c in read_label_config(MIXED)}
    specs = field_specs(list(controls.values()))
    assert {n: (s.value_type, s.level) for n, s in specs.items()} == {
        "tags": ("multichoice", "nominal"), "ner": ("span", "nominal"), "box": ("region", "nominal"),
        "n": ("number", "interval"), "note": ("text", "nominal"), "stars": ("rating", "ordinal")}
    assert controls["tags"].labels == ("a", "B") and controls["tags"].choice_mode == "multiple"
    assert controls["box"].to_name == ("img",)
    assert specs["stars"].categories == (1.0, 2.0, 3.0, 4.0, 5.0)  # maxRating defaults to 5


def test_lead_overrides_level_and_order_and_bad_ones_are_named() -> None:
    controls = read_label_config(DEMO_CONFIG)
    specs = field_specs(controls, {"urgency": {"level": "interval", "categories": ["4", "3", "2", "1"]},
                                   "intent": {"categories": ["Refund", "Billing"]}})
    assert specs["urgency"].level == "interval" and specs["urgency"].categories == (4.0, 3.0, 2.0, 1.0)
    assert specs["intent"].categories == ("Refund", "Billing") and specs["intent"].level == "nominal"
    with pytest.raises(InvalidInput, match="no control tag named 'mood'.*intent, urgency"):
        field_specs(controls, {"mood": {"level": "ordinal"}})
    with pytest.raises(InvalidInput, match="level must be one of"):
        field_specs(controls, {"intent": {"level": "cardinal"}})


def test_unreadable_config_is_an_input_error() -> None:
    with pytest.raises(InvalidInput, match="label config: cannot be read"):
        read_label_config("<View><Choices name=")


def test_secrets_round_trip_and_a_changed_secret_key_is_explained() -> None:
    box = SecretBox("app secret")
    token = box.encrypt(KEY)
    assert KEY not in token and box.decrypt(token) == KEY
    assert SecretBox("app secret").decrypt(token) == KEY  # same key derivation each time
    with pytest.raises(LabelcheckError, match="SECRET_KEY changed"):
        SecretBox("another secret").decrypt(token)
    digest = secret_digest("s3cret")
    assert same_secret("s3cret", digest) and not same_secret("guess", digest) and not same_secret("x", None)


def test_token_kinds_and_urls() -> None:
    assert token_kind(KEY) == "legacy token"
    assert token_kind("eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.abc-_DEF") == "personal access token"
    assert normalise_base_url(" http://localhost:8080/ ") == "http://localhost:8080"
    for bad in ("localhost:8080", "ftp://x", ""):
        with pytest.raises(ConnectionProblem) as info:
            normalise_base_url(bad)
        assert info.value.kind == "bad_url"
    assert KEY not in repr(LabelStudioConnection("http://x", 1, KEY))


class _ApiError(Exception):
    def __init__(self, status_code: int, detail: str = "") -> None:
        super().__init__(f"status {status_code}")
        self.status_code = status_code
        self.body = {"detail": detail}


def test_retries_only_transient_failures_with_backoff() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _ApiError(503)
        return "ok"

    assert with_retries(flaky, sleep=sleeps.append) == "ok" and len(calls) == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] * 0.6  # growing (with jitter)
    calls.clear()

    def unauthorized() -> None:
        calls.append(1)
        raise _ApiError(401)

    with pytest.raises(_ApiError):
        with_retries(unauthorized, sleep=sleeps.append)
    assert len(calls) == 1  # a 401 is not retried

    def always_down() -> None:
        calls.append(1)
        raise httpx.ConnectError("refused")

    calls.clear()
    with pytest.raises(httpx.ConnectError):
        with_retries(always_down, attempts=3, sleep=lambda s: None)
    assert len(calls) == 3


@pytest.mark.parametrize("error, kind, words", [
    (_ApiError(401, "Invalid token."), "unauthorized", "legacy token"),
    (_ApiError(403, "nope"), "forbidden", "owner or administrator"),
    (_ApiError(404, "No Project matches"), "project_not_found", "has no project 7"),
    (_ApiError(502, "bad gateway"), "server_error", "failed (502"),
    (httpx.ConnectError("[Errno 111] Connection refused"), "refused", "cannot connect"),
    (httpx.ReadTimeout("timed out"), "timeout", "did not answer in time"),
])
def test_errors_are_explained_without_the_key(error: Exception, kind: str, words: str) -> None:
    problem = explain(error, LabelStudioConnection("http://ls.example:8080", 7, KEY), "reading")
    assert problem.kind == kind and words in str(problem) and KEY not in str(problem)


def test_a_jwt_key_gets_the_personal_access_token_hint() -> None:
    jwt = "aaa.bbb.ccc"
    problem = explain(_ApiError(401), LabelStudioConnection("http://x", 1, jwt), "checking")
    assert "personal access token" in str(problem) and jwt not in str(problem)


def test_instructions_are_sanitised_to_an_allow_list() -> None:
    html = ('<h2>Refund vs Billing</h2><p onclick="x()">Money back: <b>Refund</b>.<script>alert(1)</script></p>'
            '<a href="javascript:alert(1)">x</a><img src="https://example.org/a.png" onerror="x()">'
            '<table><tr><td>a</td></tr></table><style>p{}</style>')
    clean = sanitise_html(html)
    for gone in ("<script", "onclick", "javascript:", "onerror", "<style"):
        assert gone not in clean
    for kept in ("<h2>", "<b>Refund</b>", 'src="https://example.org/a.png"', "<td>a</td>"):
        assert kept in clean
    assert html_text("<p>Money&nbsp;back:\n <b>Refund</b></p>") == "Money back: Refund"
