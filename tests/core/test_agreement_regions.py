"""Region agreement: IoU, Hungarian matching, F1 at IoU thresholds, alpha, validation."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from labelcheck.agreement.region_checks import check_regions, split_valid_regions
from labelcheck.agreement.region_iou import iou_matrix
from labelcheck.agreement.regions import ANY_LABEL, region_agreement, region_alpha
from labelcheck.agreement.spans import MICRO
from labelcheck.errors import InvalidInput
from labelcheck.table import Region, from_records


def B(x: float, y: float, w: float, h: float, label: str = "car", rot: float = 0.0) -> Region:
    return Region("rectangle", (label,), x, y, w, h, rot)


def P(points: Sequence[tuple[float, float]], label: str = "car") -> Region:
    return Region("polygon", (label,), points=tuple(points))


def table(rows: Sequence[tuple[str, str, Any]], field: str = "boxes") -> pd.DataFrame:
    return from_records([
        {"task_id": t, "annotator_id": a, "label": lab, "field": field,
         "annotation_id": f"n{k}", "source": "fixture.json", "source_row": k}
        for k, (t, a, lab) in enumerate(rows, start=1)
    ])


def shapely_geometry(r: Region) -> Any:
    """Reference geometry, built independently of the module under test."""
    if r.shape == "polygon":
        return shapely.Polygon(r.points)
    assert r.x is not None and r.y is not None and r.width is not None and r.height is not None
    box = shapely.box(r.x, r.y, r.x + r.width, r.y + r.height)
    # clockwise on screen (y down) around the top-left corner = counter-clockwise in
    # shapely's y-up convention with the angle as given
    return shapely.affinity.rotate(box, r.rotation, origin=(r.x, r.y))


def reference_iou(a: Region, b: Region) -> float:
    ga, gb = shapely_geometry(a), shapely_geometry(b)
    inter = ga.intersection(gb).area
    union = ga.area + gb.area - inter
    return inter / union if union > 0 else 0.0


# --- IoU -------------------------------------------------------------------------------
def test_iou_worked_examples() -> None:
    # 10x10 boxes shifted by 5 in x: intersection 5*10 = 50, union 100 + 100 - 50 = 150
    # shifted by 5 in x and y: intersection 25, union 175; disjoint: 0; identical: 1
    got = iou_matrix([B(0, 0, 10, 10)], [B(5, 0, 10, 10), B(5, 5, 10, 10), B(20, 20, 5, 5), B(0, 0, 10, 10)])
    np.testing.assert_allclose(got, [[1 / 3, 25 / 175, 0.0, 1.0]])
    # a box rotated 90 degrees clockwise around its top-left corner (0, 0) covers
    # x in [-10, 0], y in [0, 10]
    np.testing.assert_allclose(iou_matrix([B(0, 0, 10, 10, rot=90)], [B(-10, 0, 10, 10)]), [[1.0]])
    # a triangle that is half of the box: IoU 1/2
    np.testing.assert_allclose(iou_matrix([P([(0, 0), (10, 0), (0, 10)])], [B(0, 0, 10, 10)]), [[0.5]])


def test_ellipse_is_a_64_gon() -> None:
    circle = Region("ellipse", ("c",), 50.0, 50.0, 10.0, 10.0)
    # IoU of a circle of radius 10 with its bounding square: pi*r^2 / (2r)^2 = pi/4,
    # less the 64-gon's shortfall (64/(2 pi) sin(2 pi/64) = 0.99839)
    got = iou_matrix([circle], [B(40, 40, 20, 20)])[0, 0]
    assert got == pytest.approx(np.pi / 4 * 0.99839, rel=1e-4)


def test_keypoints_have_no_iou() -> None:
    kp = Region("keypoint", ("nose",), 5.0, 5.0)
    assert np.isnan(iou_matrix([kp], [B(0, 0, 10, 10)])[0, 0])


coord = st.floats(0, 80, allow_nan=False)
size = st.floats(0.5, 20, allow_nan=False)
angle = st.sampled_from([0.0, 0.0, 15.0, 30.0, 45.0, 90.0, 200.0])
box_st = st.builds(lambda x, y, w, h, r: B(x, y, w, h, rot=r), coord, coord, size, size, angle)


@settings(max_examples=60, deadline=None)
@given(a=st.lists(box_st, min_size=1, max_size=5), b=st.lists(box_st, min_size=1, max_size=5))
def test_iou_matches_shapely_on_random_boxes(a: list[Region], b: list[Region]) -> None:
    got = iou_matrix(a, b)
    want = np.asarray([[reference_iou(x, y) for y in b] for x in a])
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_iou_matches_shapely_on_many_random_axis_aligned_boxes() -> None:
    rng = np.random.default_rng(3)
    xy, wh = rng.uniform(0, 60, (2, 40, 2)), rng.uniform(1, 40, (2, 40, 2))
    a = [B(*xy[0, k], *wh[0, k]) for k in range(40)]
    b = [B(*xy[1, k], *wh[1, k]) for k in range(40)]
    want = np.asarray([[reference_iou(x, y) for y in b] for x in a])
    np.testing.assert_allclose(iou_matrix(a, b), want, atol=1e-12)
    assert (want > 0).sum() > 100  # the sample has many overlapping pairs


# --- pairwise agreement ----------------------------------------------------------------
# Task t: a = car(0,0,10,10) + dog(50,50,10,10); b = car(5,0,10,10) + cat(50,50,10,10);
#         c = car(0,0,10,10).   Task u: a = car box; b = the same square as a polygon.
EXAMPLE = table([
    ("t", "a", (B(0, 0, 10, 10), B(50, 50, 10, 10, "dog"))),
    ("t", "b", (B(5, 0, 10, 10), B(50, 50, 10, 10, "cat"))),
    ("t", "c", (B(0, 0, 10, 10),)),
    ("u", "a", (B(0, 0, 10, 10),)),
    ("u", "b", (P([(0, 0), (10, 0), (10, 10), (0, 10)]),)),
])


def row(frame: pd.DataFrame, label: str) -> pd.Series:
    out = frame.set_index("label").loc[label]
    assert isinstance(out, pd.Series)
    return out


def test_region_agreement_worked_example() -> None:
    out = region_agreement(EXAMPLE, thresholds=(0.3, 0.5))
    assert list(out["label"]) == ["car", "cat", "dog", MICRO, ANY_LABEL]
    assert list(out.columns) == ["label", "n_pairs", "n_a_plus_b", "n_matched", "mean_iou",
                                 "tp@0.3", "f1@0.3", "tp@0.5", "f1@0.5", "n_label_confusions"]
    car = row(out, "car")
    # car matches: t a-b 1/3, a-c 1, b-c 1/3; u a-b 1.  |A|+|B|: t 3 boxes x 2 + u 2 x 1 = 8
    assert (car.n_matched, car.n_a_plus_b, car.n_pairs) == (4, 8, 4)
    assert car.mean_iou == pytest.approx((1 / 3 + 1 + 1 / 3 + 1) / 4)
    assert car["tp@0.3"] == 4 and car["f1@0.3"] == pytest.approx(1.0)
    assert car["tp@0.5"] == 2 and car["f1@0.5"] == pytest.approx(0.5)
    # dog and cat never match each other per label: F1 0 over 2 (pairs (a,b) and (a,c))
    assert row(out, "dog")["f1@0.5"] == 0.0 and row(out, "dog").n_a_plus_b == 2
    micro = row(out, MICRO)
    assert micro.n_a_plus_b == 12 and micro["f1@0.5"] == pytest.approx(2 * 2 / 12)
    # label-agnostic: dog-cat (IoU 1) also matches, and is a label confusion
    anyrow = row(out, ANY_LABEL)
    assert anyrow["tp@0.5"] == 3 and anyrow["f1@0.5"] == pytest.approx(0.5)
    assert anyrow.n_label_confusions == 1
    assert pd.isna(car.n_label_confusions)


def test_hungarian_beats_greedy() -> None:
    # 10x10 boxes on one row; IoU of two such boxes shifted by d is (10 - d) / (10 + d).
    # a1 at x=10, a2 at 16; b1 at 12, b2 at 6.  a1-b1: d=2, 8/12; a1-b2 and a2-b1: d=4,
    # 6/14; a2-b2: d=10, 0.  Greedy takes a1-b1 (0.667) and is left with a2-b2 (0): one
    # match.  The assignment takes a1-b2 + a2-b1: two matches, total 12/14 = 0.857.
    a = [B(10, 0, 10, 10), B(16, 0, 10, 10)]
    b = [B(12, 0, 10, 10), B(6, 0, 10, 10)]
    np.testing.assert_allclose(iou_matrix(a, b), [[8 / 12, 6 / 14], [6 / 14, 0.0]])
    t = table([("t", "a", tuple(a)), ("t", "b", tuple(b))])
    out = row(region_agreement(t, thresholds=(0.4,)), "car")
    assert out.n_matched == 2 and out.mean_iou == pytest.approx(6 / 14)
    assert out["f1@0.4"] == pytest.approx(1.0)


inside = st.floats(30, 60, allow_nan=False)
inside_box = st.builds(lambda x, y, w, h, r: B(x, y, w, h, rot=r), inside, inside, size, size, angle)


@settings(max_examples=40, deadline=None)
@given(a=st.lists(inside_box, min_size=1, max_size=4), b=st.lists(inside_box, min_size=1, max_size=4))
def test_matching_total_iou_is_the_brute_force_optimum(a: list[Region], b: list[Region]) -> None:
    t = table([("t", "a", tuple(a)), ("t", "b", tuple(b))])
    out = row(region_agreement(t, thresholds=(0.5,)), MICRO)
    m = iou_matrix(a, b)
    small, large = (m, len(b)) if len(a) <= len(b) else (m.T, len(a))
    best = max(sum(small[k, p[k]] for k in range(small.shape[0]))
               for p in itertools.permutations(range(large), small.shape[0]))
    total = 0.0 if out.n_matched == 0 else out.mean_iou * out.n_matched
    assert total == pytest.approx(best, abs=1e-9)
    assert out.n_a_plus_b == len(a) + len(b)


def test_perfect_agreement_and_row_order() -> None:
    boxes = (B(0, 0, 10, 10), B(30, 30, 5, 5, "dog"), P([(50, 50), (60, 50), (55, 60)]))
    t = table([("t", "a", boxes), ("t", "b", boxes[::-1]), ("u", "a", boxes[:1]), ("u", "b", boxes[:1])])
    out = region_agreement(t)
    assert (out["f1@0.75"] == 1.0).all() and (out["mean_iou"] == 1.0).all()
    shuffled = region_agreement(t.sample(frac=1.0, random_state=1))
    pd.testing.assert_frame_equal(out, shuffled)


# --- alpha -----------------------------------------------------------------------------
def test_region_alpha_worked_example() -> None:
    # units (t, car): IoU 1/3, distance 2/3; (u, car): identical, distance 0.  n = 4.
    # D_o = (1/4) * (2 * 2/3 + 0) = 1/3.  Ordered pairs over all values: the within
    # pairs (2/3, 0) and four cross-unit pairs with IoU 0 (distance 1):
    # D_e = 2 * (2/3 + 0 + 4) / (4 * 3) = 7/9.  alpha = 1 - (1/3) / (7/9) = 4/7.
    t = table([
        ("t", "a", (B(0, 0, 10, 10),)), ("t", "b", (B(5, 0, 10, 10),)),
        ("u", "a", (B(50, 50, 10, 10),)), ("u", "b", (B(50, 50, 10, 10),)),
    ])
    res = region_alpha(t)
    assert res.metric == "region_alpha"
    assert res.value == pytest.approx(4 / 7)
    assert res.observed == pytest.approx(1 / 3) and res.expected == pytest.approx(7 / 9)


def test_region_alpha_needs_one_region_per_label() -> None:
    labels: list[Any] = [(B(0, 0, 10, 10), B(20, 20, 5, 5)), (B(0, 0, 10, 10),), (), (), ()]
    res = region_alpha(EXAMPLE.assign(label=pd.Series(labels, dtype=object).to_numpy()))
    assert np.isnan(res.value)
    assert "annotation n1 on task t has 2 regions labelled 'car'" in (res.reason or "")
    assert "use region_agreement" in (res.reason or "")


# --- validation ------------------------------------------------------------------------
def test_malformed_regions_are_all_named() -> None:
    bowtie = P([(0, 0), (10, 10), (10, 0), (0, 10)])
    bad = table([
        ("t", "a", (B(0, 0, 10, 10),)),
        ("t", "b", (B(0, 0, -5, 10),)),
        ("t", "c", (B(95, 0, 10, 10),)),
        ("t", "d", (P([(0, 0), (5, 5)]),)),
        ("t", "e", (bowtie,)),
    ])
    with pytest.raises(InvalidInput, match=r'field "boxes": 4 malformed region\(s\)') as info:
        check_regions(bad)
    msgs = [str(p) for p in info.value.problems]
    assert msgs[0] == ('fixture.json, row 2: task t, annotation n2, field "boxes": region 1 '
                       "(rectangle): width/height must be positive; found -5 x 10")
    assert "annotation n3" in msgs[1] and "reaches outside the image [0, 100]" in msgs[1]
    assert "a polygon needs at least 3 points; found 2" in msgs[2]
    assert "polygon is not valid (Self-intersection" in msgs[3]
    with pytest.raises(InvalidInput, match="split_valid_regions"):
        region_agreement(bad)
    valid, problems = split_valid_regions(bad)
    assert list(valid["annotation_id"]) == ["n1"] and len(problems) == 4
    # a small overshoot is rounding, not an error
    check_regions(table([("t", "a", (B(90.2, 0, 10, 10),))]))


def test_split_valid_regions_drops_only_the_bad_regions() -> None:
    good, other = B(0, 0, 10, 10), B(40, 40, 10, 10, "dog")
    t = table([
        ("t", "a", (good, B(20, 20, -5, 10), other)),        # region 2 has a negative width
        ("t", "b", (B(1, 0, 10, 10), other)),
        ("t", "c", (B(0, 0, 0, 10), P([(0, 0), (5, 5)]))),  # every region bad
        ("t", "d", (good, "car")),                          # item 2 is not a Region
        ("t", "e", None),                                   # no answer
    ])
    with pytest.raises(InvalidInput, match=r'field "boxes": 4 malformed region\(s\)'):
        check_regions(t)
    valid, problems = split_valid_regions(t)
    assert list(valid["annotation_id"]) == ["n1", "n2", "n4", "n5"]
    labels = dict(zip(valid["annotation_id"], valid["label"]))
    assert labels["n1"] == (good, other) and labels["n4"] == (good,) and labels["n5"] is None
    assert [str(p) for p in problems] == [
        'fixture.json, row 1: task t, annotation n1, field "boxes": region 2 (rectangle): '
        "width/height must be positive; found -5 x 10",
        'fixture.json, row 3: task t, annotation n3, field "boxes": region 1 (rectangle): '
        "width/height must be positive; found 0 x 10",
        'fixture.json, row 3: task t, annotation n3, field "boxes": region 2 (polygon): '
        "a polygon needs at least 3 points; found 2",
        'fixture.json, row 4: task t, annotation n4, field "boxes": region 2: is str \'car\', not a Region',
    ]
    assert (problems[0].source_row, problems[0].task_id, problems[0].annotation_id, problems[0].field) == (
        1, "t", "n1", "boxes")
    # the kept boxes are compared: a, b and d all drew the car, a and b the dog
    check_regions(valid)
    micro = valid.pipe(region_agreement).set_index("label").loc[MICRO]
    assert (micro["n_matched"], micro["n_a_plus_b"]) == (4, 10)
    assert t["label"].iloc[0] == (good, B(20, 20, -5, 10), other)
