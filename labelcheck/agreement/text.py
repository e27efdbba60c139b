r"""Agreement on free-text answers (Label Studio ``TextArea``): Krippendorff's alpha
with the normalised Levenshtein distance.

Edit distances come from RapidFuzz (``rapidfuzz.distance.Levenshtein``), evaluated
element-wise on whole chunks of pairs with ``rapidfuzz.process.cpdist``; nothing
here computes an edit distance by hand.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist

from labelcheck.agreement.distance_alpha import FieldAnswers, distance_alpha, field_answers
from labelcheck.agreement.intervals import IntervalSpec
from labelcheck.agreement.result import AgreementResult
from labelcheck.errors import InvalidInput, name_list

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def normalise_text(text: str) -> str:
    """Unicode NFKC, then case folding, then every run of whitespace made one space
    and the ends stripped: ``" Ｃafé\\n  OK "`` becomes ``"café ok"``.

    NFKC merges compatibility forms (full-width letters, ligatures, composed and
    decomposed accents); ``str.casefold`` is the Unicode caseless match
    (``"Straße"`` and ``"STRASSE"`` agree)."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def text_distance(a: str, b: str) -> float:
    r"""Normalised Levenshtein distance :math:`\mathrm{lev}(a, b) / \max(|a|, |b|)`
    (0 for two empty strings), from RapidFuzz.

    >>> text_distance("kitten", "sitting")
    0.42857142857142855
    """
    return float(Levenshtein.normalized_distance(a, b))


def text_distances(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> FloatArray:
    """:func:`text_distance` of ``a[p]`` and ``b[p]`` for every ``p`` (object arrays of
    str), in one RapidFuzz call."""
    if a.size == 0:
        return np.zeros(0)
    out: FloatArray = cpdist(
        a, b, scorer=Levenshtein.normalized_distance, dtype=np.float64, workers=1
    )
    return out


@dataclass(frozen=True, eq=False)
class Texts:
    """The answers of one free-text field, coded: ``code[i]`` indexes ``texts``, the
    distinct (normalised, when asked) answers as an object array of str."""

    answers: FieldAnswers
    code: IntArray
    texts: npt.NDArray[Any]
    normalised: bool

    def pair_distance(self, i: IntArray, j: IntArray) -> FloatArray:
        """Distance between answers at positions ``i[p]`` and ``j[p]``."""
        return text_distances(self.texts[self.code[i]], self.texts[self.code[j]])


def read_texts(data: pd.DataFrame, *, field: str | None = None, normalise: bool = True) -> Texts:
    """Read one free-text field of the canonical table as :class:`Texts`.

    Labels must be strings; rows with a missing label are no answer.  An empty
    string is an answer.  Raises :class:`~labelcheck.errors.InvalidInput` naming
    task, annotation and field of each row whose label is not a string."""
    answers = field_answers(data, field)
    raw_codes, uniques = pd.factorize(pd.Series(answers.labels, dtype=object))
    uniques_arr = np.asarray(uniques, dtype=object)
    bad = np.asarray([not isinstance(u, str) for u in uniques_arr], dtype=bool)
    if bad.any():
        rows = np.flatnonzero(bad[raw_codes])
        raise InvalidInput(
            f'field "{answers.field}": {len(rows)} label(s) are not text, as a free-text '
            f"field needs; found {name_list(sorted({repr(u) for u in uniques_arr[bad]}))}",
            answers.problems(rows, lambda v: f"label {v!r} is not a string"),
        )
    if normalise:
        normalised = [normalise_text(u) for u in uniques_arr]
        norm_codes, distinct = pd.factorize(pd.Series(normalised, dtype=object))
        code = np.asarray(norm_codes, dtype=np.int64)[raw_codes]
        texts = np.asarray(distinct, dtype=object)
    else:
        code = np.asarray(raw_codes, dtype=np.int64)
        texts = uniques_arr
    return Texts(answers, code, texts, normalise)


def text_alpha(
    data: pd.DataFrame | Texts,
    *,
    field: str | None = None,
    normalise: bool = True,
    ci: IntervalSpec | None = None,
    max_expected_pairs: int = 2_000_000,
    seed: int = 0,
) -> AgreementResult:
    r"""Krippendorff's alpha for free-text answers with the normalised edit distance.

    .. math:: \alpha = 1 - \frac{D_o}{D_e}, \qquad
              \delta(a, b) = \frac{\mathrm{lev}(a, b)}{\max(|a|, |b|)}

    :math:`D_o` and :math:`D_e` are Krippendorff's observed and expected
    disagreement over pairable answers (see
    :func:`~labelcheck.agreement.distance_alpha.distance_alpha`),
    :math:`\mathrm{lev}` the Levenshtein distance (insertions, deletions and
    substitutions of one character each cost 1; Levenshtein 1966) and :math:`|a|`
    the length in characters (code points); two empty answers are at distance 0.

    Parameters
    ----------
    data : canonical annotation table (``label`` a str per answer) or
        :class:`Texts` from :func:`read_texts`.
    field : the field; may be omitted when the table has one.
    normalise : compare answers after :func:`normalise_text` (NFKC, case folding,
        whitespace collapsed and stripped); False compares them as written.
    ci : None or ``"bootstrap"`` (item bootstrap over tasks); no analytic interval.
    max_expected_pairs, seed : see :func:`distance_alpha`: :math:`D_e` is exact when
        the distinct answers have at most that many pairs, else estimated from that
        many sampled pairs (``details["expected_route"]``, ``expected_se``).

    Returns
    -------
    AgreementResult
        ``metric`` ``text_alpha``; ``n_categories`` the distinct (normalised)
        answers; ``details["normalise"]``.

    Notes
    -----
    Answers that are equal (after normalisation) are merged before any distance is
    computed, so the cost grows with the number of distinct answers.  The distance
    is a character-level one: it sees "not good" and "good" as close.  Undefined
    (NaN with a reason) when no task has two answers, when all answers are equal,
    or when :math:`D_e = 0`.

    References
    ----------
    Levenshtein, V. I. (1966). Binary codes capable of correcting deletions,
    insertions, and reversals. Soviet Physics Doklady 10(8), 707-710.
    Krippendorff, K. (2019). Content Analysis, 4th ed., ch. 12. SAGE.
    https://doi.org/10.4135/9781071878781
    Bachmann, M. RapidFuzz. https://github.com/rapidfuzz/RapidFuzz

    Examples
    --------
    >>> from labelcheck.table import from_records
    >>> rows = [("t1", "a", "cat"), ("t1", "b", "Cat "), ("t2", "a", "dog"),
    ...         ("t2", "b", "dot")]
    >>> table = from_records([dict(task_id=t, annotator_id=c, label=l) for t, c, l in rows])
    >>> round(text_alpha(table).value, 4)
    0.7273

    By hand: "Cat " normalises to "cat"; :math:`\delta(\text{dog}, \text{dot}) = 1/3`, so
    :math:`D_o = (2 \cdot 1/3)/4 = 1/6`; the six pairs of the four answers sum to
    :math:`0 + 1 + 2/3 + 1 + 2/3 + 1/3 = 11/3`, :math:`D_e = 11/18` and
    :math:`\alpha = 1 - 3/11 = 0.7273`.
    """
    texts = data if isinstance(data, Texts) else read_texts(data, field=field, normalise=normalise)
    answers = texts.answers
    result = distance_alpha(
        answers.task_ids,
        texts.code,
        texts.pair_distance,
        metric="text_alpha",
        max_expected_pairs=max_expected_pairs,
        seed=seed,
        ci=ci,
        n_annotators=answers.n_annotators,
    )
    details = {
        "distance": "normalised_levenshtein",
        "normalise": texts.normalised,
        "field": answers.field,
        **result.details,
    }
    return dataclasses.replace(result, details=details)
