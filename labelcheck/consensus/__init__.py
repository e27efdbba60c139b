"""Consensus labels from several annotators' answers: majority vote, Dawid-Skene, MACE.

Every model takes one field of the canonical annotation table (or its
:class:`~labelcheck.table.CodedRatings`) and returns a
:class:`~labelcheck.consensus.result.ConsensusResult`: per item a label (None when
unresolved, with the reason), a confidence, a tie flag and a posterior over the
categories; per annotator a reliability.  This package is part of the computational
core (see ``labelcheck/agreement/README.md`` for the import rule).
"""

from collections.abc import Callable

from labelcheck.consensus.dawid_skene import DawidSkene, dawid_skene
from labelcheck.consensus.mace import MACE, mace
from labelcheck.consensus.majority_vote import majority_vote
from labelcheck.consensus.result import TIE_POLICIES, ConsensusResult, TiePolicy

#: Method names of the CLI and JSON contract, mapped to functions returning a
#: ConsensusResult.
METHODS: dict[str, Callable[..., ConsensusResult]] = {
    "majority_vote": majority_vote,
    "dawid_skene": dawid_skene,
    "mace": mace,
}

__all__ = [
    "METHODS",
    "TIE_POLICIES",
    "ConsensusResult",
    "DawidSkene",
    "MACE",
    "TiePolicy",
    "dawid_skene",
    "mace",
    "majority_vote",
]
