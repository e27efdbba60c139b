"""Before/after comparison of agreement around a guideline revision.

The statistic is pinned to the ``krippendorff`` reference package and to a plain
Python re-computation of Krippendorff's (2011) coincidence formula; the permutation
p-value to an exhaustive enumeration; the bootstrap interval to a slow loop that
resamples units one by one; the decision to its false-positive rate on seeded data
without an effect.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from labelcheck.agreement import krippendorff_alpha
from labelcheck.errors import InvalidInput
from labelcheck.guidelines.before_after import (
    _alpha_of_patterns,
    _unit_patterns,
    compare_periods,
    parse_time,
    revision_effect,
)
from labelcheck.table import encode, from_records

AT = "2024-04-01T09:00:00Z"
BEFORE_TIME = pd.Timestamp("2024-03-15", tz="UTC")
AFTER_TIME = pd.Timestamp("2024-04-15", tz="UTC")
Unit = Sequence[Any]


# --- data ------------------------------------------------------------------------------
def units_table(before: Sequence[Unit], after: Sequence[Unit]) -> pd.DataFrame:
    """One item per unit (``b0``, ``a0``, ...), answers by annotators ``r0``, ``r1``, ..."""
    rows = []
    for prefix, units, when in (("b", before, BEFORE_TIME), ("a", after, AFTER_TIME)):
        for i, unit in enumerate(units):
            for j, label in enumerate(unit):
                rows.append({"task_id": f"{prefix}{i}", "annotator_id": f"r{j}",
                             "label": label, "created_at": when})
    return from_records(rows)


def simulate(
    seed: int, n_items: int = 200, confuse_before: float = 0.4, confuse_after: float = 0.05,
    n_answers: int = 3, pool: int = 6, k: int = 4,
) -> pd.DataFrame:
    """Labels c0..c{k-1}; c0 and c1 are confused with the given probabilities."""
    rng = np.random.default_rng(seed)
    rows = []
    for side, confuse, when in ((0, confuse_before, BEFORE_TIME), (1, confuse_after, AFTER_TIME)):
        for i in range(n_items):
            truth = int(rng.integers(k))
            for a in rng.choice(pool, size=n_answers, replace=False):
                label = truth
                if truth < 2 and rng.random() < confuse:
                    label = 1 - truth
                elif rng.random() < 0.05:
                    label = int(rng.integers(k))
                rows.append({"task_id": f"{side}-{i}", "annotator_id": f"u{a}",
                             "label": f"c{label}",
                             "created_at": when + pd.Timedelta(minutes=int(rng.integers(1000)))})
    return from_records(rows)


def reference_alpha(units: Sequence[Unit]) -> float:
    """Nominal alpha from the coincidence matrix, unit by unit (Krippendorff 2011, p. 3)."""
    o: Counter[tuple[Any, Any]] = Counter()
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        for i, j in itertools.permutations(range(m), 2):
            o[unit[i], unit[j]] += 1.0 / (m - 1)
    n_c: Counter[Any] = Counter()
    for (c, _), v in o.items():
        n_c[c] += v
    n = sum(n_c.values())
    d_e = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k) / (n * (n - 1)) if n > 1 else 0
    if d_e <= 0:
        return math.nan
    return 1.0 - sum(v for (c, k), v in o.items() if c != k) / n / d_e


BEFORE_UNITS = [["x", "x", "y"], ["y", "y"], ["x", "z", "z"], ["z", "z", "z"], ["x", "y"],
                ["y", "y", "x"]]
AFTER_UNITS = [["x", "x", "x"], ["y", "y"], ["z", "z", "y"], ["x", "x"], ["y", "y", "y"],
               ["z", "z"]]


# --- the statistic -------------------------------------------------------------------
def test_reference_alpha_is_krippendorff_2011() -> None:
    # Krippendorff (2011), pp. 5-9: nominal alpha = 0.743 (units as columns).
    data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
            [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]]
    units = [[row[u] for row in data if row[u] is not None] for u in range(12)]
    assert reference_alpha(units) == pytest.approx(0.743, abs=5e-4)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_each_side_is_alpha_of_the_reference_package(level: str) -> None:
    rng = np.random.default_rng(3)
    rows = []
    for side, when in ((0, BEFORE_TIME), (1, AFTER_TIME)):
        for i in range(60):
            truth = rng.integers(1, 6)
            for a in range(4):
                if rng.random() < 0.2:
                    continue  # missing answer
                label = int(np.clip(truth + rng.integers(-1, 2) * (rng.random() < 0.4 + 0.3 * side), 1, 5))
                rows.append({"task_id": f"{side}-{i}", "annotator_id": f"r{a}", "label": label,
                             "created_at": when})
    table = from_records(rows)
    result = revision_effect(table, AT, level=level, n_boot=50, n_perm=50)  # type: ignore[arg-type]
    for side, value in ((0, result.overall.before.value), (1, result.overall.after.value)):
        part = table[table["task_id"].str.startswith(f"{side}-")]
        matrix = part.pivot_table(index="annotator_id", columns="task_id", values="label",
                                  aggfunc="first").to_numpy(dtype=float)
        expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)
        assert value == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_vectorised_statistic_equals_krippendorff_alpha(level: str) -> None:
    table = simulate(5, n_items=40) if level in ("nominal", "ordinal") else None
    if table is None:
        table = units_table([[1, 2, 2], [3, 3], [1, 1, 5], [4, 5]], [[2, 2], [1, 3, 3], [5, 5, 4]])
    cats = [f"c{i}" for i in range(4)] if level == "ordinal" else None
    coded = encode(table, level=level, categories=cats)  # type: ignore[arg-type]
    after = np.asarray(table["created_at"] >= parse_time(AT))[coded.rows]
    patterns, freq_b, freq_a, values = _unit_patterns(coded, ~after, after)
    for mask, freq in ((~after, freq_b), (after, freq_a)):
        got = _alpha_of_patterns(patterns, freq[None, :].astype(float), level, values)[0]
        assert got == pytest.approx(krippendorff_alpha(coded.subset(mask), level=level).value,
                                    abs=1e-12)


# --- known effect, no effect ---------------------------------------------------------
def test_a_planted_rise_is_significant_and_conclusive() -> None:
    result = revision_effect(simulate(0), AT, labels=["c0", "c1"])
    for comparison in (result.overall, result.targeted, result.same_annotators):
        assert comparison is not None
        assert comparison.difference > 0.1
        assert comparison.ci is not None and comparison.ci[0] > 0
        assert comparison.p_value < 0.01
        assert comparison.conclusive
        assert comparison.verdict.startswith("Agreement rose from ")
        assert comparison.verdict.endswith(": the revision is followed by higher agreement.")
    assert result.targeted is not None
    assert result.targeted.difference > result.overall.difference  # the confused pair gains most


def test_a_planted_fall_is_reported_as_lower_agreement() -> None:
    result = revision_effect(simulate(1, confuse_before=0.05, confuse_after=0.4), AT)
    assert result.overall.conclusive and result.overall.difference < 0
    assert result.overall.verdict.startswith("Agreement fell from ")
    assert "followed by lower agreement" in result.overall.verdict


def test_no_effect_false_positive_rate_is_at_most_the_test_level() -> None:
    """200 seeded runs without an effect (40 vs 40 items): the share of conclusive
    claims stays within the 99.9% binomial bound of a 5% level (at most 21 of 200;
    these seeds give 12).
    Measured with 2000 runs and 1000 resamples: 4.75% claims, 4.95% p < 0.05."""
    n_runs, claims, small_p = 200, 0, 0
    for seed in range(n_runs):
        rng = np.random.default_rng(seed)
        n, k = 80, 3
        truth = rng.integers(k, size=n)
        item = np.repeat(np.arange(n), 3)
        wrong = rng.random(item.size) < 0.25
        label = np.where(wrong, (truth[item] + rng.integers(1, k, size=item.size)) % k,
                         truth[item])
        annotator = np.concatenate([rng.choice(5, 3, replace=False) for _ in range(n)])
        coded = encode(from_records(pd.DataFrame(
            {"task_id": item.astype(str), "annotator_id": annotator.astype(str), "label": label})))
        after = item[coded.rows] >= n // 2
        c = compare_periods(coded, ~after, after, n_boot=500, n_perm=500, seed=seed)
        claims += c.conclusive
        small_p += c.p_value < 0.05
    bound = binom.ppf(0.999, n_runs, 0.05)
    assert claims <= bound, claims
    assert small_p <= bound


# --- the resampling against slow references -------------------------------------------
def test_permutation_p_value_matches_exhaustive_enumeration() -> None:
    pooled = BEFORE_UNITS + AFTER_UNITS
    n_b = len(BEFORE_UNITS)
    observed = reference_alpha(AFTER_UNITS) - reference_alpha(BEFORE_UNITS)
    diffs = []
    for chosen in itertools.combinations(range(len(pooled)), n_b):
        before = [pooled[i] for i in chosen]
        after = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        diffs.append(reference_alpha(after) - reference_alpha(before))
    d = np.array(diffs)
    d = d[~np.isnan(d)]
    less, greater = np.mean(d <= observed + 1e-9), np.mean(d >= observed - 1e-9)
    exact = min(1.0, 2 * min(less, greater))

    n_perm = 20_000
    table = units_table(BEFORE_UNITS, AFTER_UNITS)
    result = revision_effect(table, AT, n_perm=n_perm, n_boot=10, min_items=0)
    assert result.overall.difference == pytest.approx(observed, abs=1e-12)
    tolerance = 4 * 2 * math.sqrt(exact * (1 - exact) / n_perm) + 2 / n_perm
    assert 0.01 < exact < 0.99  # a p-value that the test can tell from 0 and 1
    assert result.overall.p_value == pytest.approx(exact, abs=tolerance)


def test_bootstrap_interval_matches_a_unit_by_unit_resampling_loop() -> None:
    rng = np.random.default_rng(11)
    labels = np.array(["x", "y", "z"])
    before = [list(labels[rng.integers(0, 3, size=3)]) if i % 3 else ["x", "x", "y"]
              for i in range(40)]
    after = [[lab] * 2 + [labels[rng.integers(3)]] for lab in labels[rng.integers(0, 3, size=40)]]
    n_boot, confidence = 4000, 0.9
    slow = np.empty(n_boot)
    for b in range(n_boot):
        pick_b = rng.integers(0, len(before), size=len(before))
        pick_a = rng.integers(0, len(after), size=len(after))
        slow[b] = (reference_alpha([after[i] for i in pick_a])
                   - reference_alpha([before[i] for i in pick_b]))
    slow = slow[~np.isnan(slow)]
    lo, hi = np.quantile(slow, [0.05, 0.95])
    result = revision_effect(units_table(before, after), AT, n_boot=n_boot, n_perm=10,
                             confidence=confidence)
    ci = result.overall.ci
    assert ci is not None
    # quantile of n_boot draws: sd about 0.06 x the replicates' sd; two runs, 4 sd
    tolerance = 4 * math.sqrt(2) * 0.06 * slow.std()
    assert ci[0] == pytest.approx(lo, abs=tolerance)
    assert ci[1] == pytest.approx(hi, abs=tolerance)
    assert result.overall.n_boot_valid == n_boot


# --- splitting, restrictions, verdicts ------------------------------------------------
def test_units_are_item_and_period_and_answers_never_pair_across_the_revision() -> None:
    # item t1 is answered before (x, x) and after (y, y): perfect within each period
    rows = [("t1", "r1", "x", BEFORE_TIME), ("t1", "r2", "x", BEFORE_TIME),
            ("t1", "r1", "y", AFTER_TIME), ("t1", "r2", "y", AFTER_TIME),
            ("t2", "r1", "y", BEFORE_TIME), ("t2", "r2", "y", BEFORE_TIME),
            ("t2", "r3", "x", AFTER_TIME), ("t2", "r1", "x", AFTER_TIME),
            ("t3", "r1", "x", AFTER_TIME)]
    table = from_records([dict(zip(("task_id", "annotator_id", "label", "created_at"), r))
                          for r in rows])
    result = revision_effect(table, AT, n_boot=20, n_perm=20, min_items=0)
    assert result.overall.before.value == pytest.approx(1.0)
    assert result.overall.after.value == pytest.approx(1.0)
    assert (result.overall.n_items_before, result.overall.n_items_after) == (2, 2)
    assert (result.n_annotations_before, result.n_annotations_after) == (4, 5)


def test_an_answer_at_the_revision_time_counts_after_and_naive_times_are_utc() -> None:
    assert parse_time("2024-04-01T09:00:00") == parse_time(AT)
    assert parse_time("2024-04-01T11:00:00+02:00") == parse_time(AT)
    rows = [{"task_id": "t", "annotator_id": a, "label": "x", "created_at": AT} for a in "ab"]
    result = revision_effect(from_records(rows), AT, n_boot=5, n_perm=5)
    assert (result.n_annotations_before, result.n_annotations_after) == (0, 2)


def test_answers_without_time_are_left_out_counted_and_named() -> None:
    table = simulate(2, n_items=40)
    table.loc[table.index[:3], "created_at"] = pd.NaT
    result = revision_effect(table, AT, n_boot=50, n_perm=50)
    assert result.n_annotations_without_time == 3
    assert result.annotation_ids_without_time == tuple(table["annotation_id"].iloc[:3])
    assert result.n_annotations_before + result.n_annotations_after == len(table) - 3


def test_no_times_at_all_is_an_error() -> None:
    table = units_table(BEFORE_UNITS, AFTER_UNITS)
    table["created_at"] = pd.NaT
    with pytest.raises(InvalidInput, match=r'field "label": none of its 31 answers has a created_at'):
        revision_effect(table, AT)


def test_a_bad_time_is_an_error() -> None:
    with pytest.raises(InvalidInput, match=r"revision time 'soon' is not an ISO 8601 time"):
        revision_effect(units_table(BEFORE_UNITS, AFTER_UNITS), "soon")


def test_unknown_target_labels_are_named_with_the_fields_labels() -> None:
    with pytest.raises(InvalidInput, match=r'label\(s\) w, q not found; the field\'s labels are x, y, z'):
        revision_effect(units_table(BEFORE_UNITS, AFTER_UNITS), AT, labels=["x", "w", "q"])


def test_targeted_keeps_the_items_where_a_target_label_was_chosen() -> None:
    result = revision_effect(units_table(BEFORE_UNITS, AFTER_UNITS), AT, labels=["z"],
                             n_boot=20, n_perm=20, min_items=0)
    assert result.targeted is not None
    assert result.targeted.restricted_to == {"labels": ["z"], "n_items": 4}
    assert result.targeted.n_items_before == 2 and result.targeted.n_items_after == 2
    assert revision_effect(units_table(BEFORE_UNITS, AFTER_UNITS), AT).targeted is None


def test_same_annotators_drops_annotators_of_one_period_only() -> None:
    table = simulate(4, n_items=60)
    newcomer = (table["created_at"] > parse_time(AT)) & (table["annotator_id"] == "u0")
    table.loc[newcomer, "annotator_id"] = "new"
    result = revision_effect(table, AT, n_boot=50, n_perm=50)
    same = result.same_annotators
    assert same.restricted_to is not None
    assert same.restricted_to["annotators"] == ["u1", "u2", "u3", "u4", "u5"]
    kept = table[table["annotator_id"].isin(same.restricted_to["annotators"])]
    after = kept[kept["created_at"] >= parse_time(AT)]
    assert same.after.value == pytest.approx(krippendorff_alpha(after).value, abs=1e-12)
    assert "new" not in same.restricted_to["annotators"]


def test_too_few_items_is_not_conclusive() -> None:
    table = simulate(0, n_items=12)
    result = revision_effect(table, AT, min_items=30)
    assert not result.overall.conclusive
    assert result.overall.verdict.endswith(
        "but the data cannot support a conclusion: too few items before the revision (12 < 30)."
    )


def test_an_interval_spanning_zero_is_not_conclusive() -> None:
    result = revision_effect(simulate(6, n_items=40, confuse_before=0.2, confuse_after=0.2), AT)
    c = result.overall
    assert c.ci is not None and c.ci[0] < 0 < c.ci[1]
    assert not c.conclusive
    assert c.verdict.endswith("but the data cannot support a conclusion: the CI spans zero.")
    assert f"95% CI [{c.ci[0]:.2f}, {c.ci[1]:.2f}]" in c.verdict


def test_an_undefined_side_cannot_be_compared_and_gives_plain_json() -> None:
    after = [["x", "x"], ["x", "x", "x"]]  # one label in use: alpha undefined
    result = revision_effect(units_table(BEFORE_UNITS, after), AT, labels=["y"])
    c = result.overall
    assert math.isnan(c.difference) and not c.conclusive
    assert c.verdict.startswith("Agreement cannot be compared: alpha after the revision is undefined")
    text = json.dumps(result.to_dict(), allow_nan=False)  # NaN became null
    payload = json.loads(text)
    assert payload["overall"]["difference"] is None and payload["overall"]["ci"] is None
    assert payload["targeted"]["n_items_after"] == 0


def test_contract_keys_and_seeded_reproducibility() -> None:
    table = simulate(7, n_items=40)
    one = revision_effect(table, AT, labels=["c1"], seed=3).to_dict()
    two = revision_effect(table, AT, labels=["c1"], seed=3).to_dict()
    assert one == two
    assert {"overall", "targeted", "same_annotators"} <= set(one)
    for name in ("overall", "targeted", "same_annotators"):
        assert {"before", "after", "difference", "ci", "p_value", "n_items_before",
                "n_items_after", "conclusive", "verdict"} <= set(one[name])
        assert isinstance(one[name]["ci"], list) and len(one[name]["ci"]) == 2
        assert one[name]["verdict"].count(".") >= 1 and "\n" not in one[name]["verdict"]


@given(st.integers(0, 10_000), st.permutations(["p", "q", "r"]))
@settings(max_examples=15, deadline=None)
def test_row_order_and_label_names_do_not_change_the_comparison(seed: int, names: list[str]) -> None:
    table = simulate(seed % 50, n_items=20, k=3)
    base = revision_effect(table, AT, n_boot=50, n_perm=50, min_items=0)
    shuffled = table.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    assert revision_effect(shuffled, AT, n_boot=50, n_perm=50, min_items=0).to_dict() == base.to_dict()
    relabelled = table.copy()
    relabelled["label"] = relabelled["label"].map(dict(zip(["c0", "c1", "c2"], names)))
    other = revision_effect(relabelled, AT, n_boot=50, n_perm=50, min_items=0).overall
    assert other.before.value == pytest.approx(base.overall.before.value, abs=1e-12)
    assert other.difference == pytest.approx(base.overall.difference, abs=1e-12)
