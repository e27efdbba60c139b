"""Agreement coefficients on the canonical annotation table.

Every coefficient takes the long table (or :class:`labelcheck.table.CodedRatings`
shared between several calls) and returns an
:class:`~labelcheck.agreement.result.AgreementResult`.  This package is part of the
computational core: see ``README.md`` beside this file for the import rule.
"""

from labelcheck.agreement.brennan_prediger import brennan_prediger
from labelcheck.agreement.cohen import cohen_kappa, cohen_kappa_matrix
from labelcheck.agreement.conger import conger_kappa
from labelcheck.agreement.fleiss import fleiss_kappa, scott_pi
from labelcheck.agreement.gwet import gwet_ac1, gwet_ac2
from labelcheck.agreement.icc import icc_agreement, icc_consistency, icc_oneway
from labelcheck.agreement.intervals import Interval
from labelcheck.agreement.krippendorff import krippendorff_alpha
from labelcheck.agreement.percent_agreement import percent_agreement, specific_agreement
from labelcheck.agreement.result import AgreementResult

#: Metric names of the CLI and JSON contract, mapped to their functions.
METRICS = {
    "krippendorff_alpha": krippendorff_alpha,
    "fleiss_kappa": fleiss_kappa,
    "cohen_kappa": cohen_kappa,
    "conger_kappa": conger_kappa,
    "scott_pi": scott_pi,
    "gwet_ac1": gwet_ac1,
    "gwet_ac2": gwet_ac2,
    "brennan_prediger": brennan_prediger,
    "percent_agreement": percent_agreement,
    "icc_oneway": icc_oneway,
    "icc_agreement": icc_agreement,
    "icc_consistency": icc_consistency,
}

__all__ = [
    "METRICS",
    "AgreementResult",
    "Interval",
    "brennan_prediger",
    "cohen_kappa",
    "cohen_kappa_matrix",
    "conger_kappa",
    "fleiss_kappa",
    "gwet_ac1",
    "gwet_ac2",
    "icc_agreement",
    "icc_consistency",
    "icc_oneway",
    "krippendorff_alpha",
    "percent_agreement",
    "scott_pi",
    "specific_agreement",
]
