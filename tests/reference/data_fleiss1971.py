"""Fleiss (1971) diagnoses data: 30 patients, each diagnosed by 6 of 43 psychiatrists.

Categories: 1 depression, 2 personality disorder, 3 schizophrenia, 4 neurosis,
5 other.  One row per patient, the six diagnoses it received (the raters differ from
patient to patient, so columns are answer slots, not annotators).

Source: Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
Psychological Bulletin 76(5), 378-382, https://doi.org/10.1037/h0031619 (the table is
given there as counts per category; this raw form is R irr's ``diagnoses`` data set,
also in statsmodels' ``statsmodels/stats/tests/test_inter_rater.py``).
"""

DIAGNOSES: list[list[int]] = [
    [4, 4, 4, 4, 4, 4],
    [2, 2, 2, 5, 5, 5],
    [2, 3, 3, 3, 3, 5],
    [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3],
    [3, 3, 3, 3, 5, 5],
    [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4],
    [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4],
    [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3],
    [1, 4, 4, 4, 4, 4],
    [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5],
    [1, 1, 1, 1, 1, 2],
    [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5],
    [2, 4, 4, 4, 4, 4],
    [2, 2, 4, 5, 5, 5],
    [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4],
    [1, 1, 1, 1, 5, 5],
    [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3],
    [5, 5, 5, 5, 5, 5],
]

#: Fleiss (1971): kappa = .430 (three decimals).
#: R: library(irr); data(diagnoses); kappam.fleiss(diagnoses)  ->  Kappa = 0.4302445
#: (value stored in statsmodels' test_inter_rater.py, test_fleiss_kappa_irr).
FLEISS_KAPPA_R_IRR = 0.4302445
FLEISS_KAPPA_PUBLISHED = 0.430

#: Fleiss (1971), per-category kappas kappa_j (three decimals), categories 1-5.
CATEGORY_KAPPAS_PUBLISHED = {1: 0.245, 2: 0.245, 3: 0.520, 4: 0.471, 5: 0.566}
#: Fleiss (1971), category shares p_j: 26, 26, 30, 55, 43 of 180 answers.
CATEGORY_SHARES_PUBLISHED = {1: 0.144, 2: 0.144, 3: 0.167, 4: 0.306, 5: 0.239}
