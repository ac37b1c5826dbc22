"""Grading methods: each turns a table of per-customer metrics into tiers, with reasons.

One module per method (:mod:`.scorecard`, :mod:`.pareto`, :mod:`.thresholds`, :mod:`.rfm`,
:mod:`.window`). Each exposes ``grade(metrics, rules, lang, *, as_of, languages=())``
returning the metrics table with these columns added:

``tier``         the tier's name
``_tier_rank``   its position in ``rules.tiers`` (0 = best)
``reason``       one sentence: why this tier (in ``lang``)
``_reason_<k>``  the same sentence in each other language ``k`` of ``languages``
                 (:func:`~tiering.grading.common.worded`)
``next_tier``    the tier one step up (empty for the top tier)
``gap``          how much is missing for it, in ``gap_unit``
``gap_unit``     ``points``, ``days`` or a metric name
``_flag_<name>`` booleans collected into the ``flags`` column

plus the method's own columns (``score`` and ``<factor>_value``/``<factor>_points``;
``rank``; ``rfm_code``...). Everything is an Ibis expression, so it runs on any backend.
"""

from __future__ import annotations

from tiering.grading import pareto, rfm, scorecard, thresholds, window

GRADERS = {
    "scorecard": scorecard.grade,
    "pareto": pareto.grade,
    "thresholds": thresholds.grade,
    "rfm": rfm.grade,
    "window": window.grade,
}

__all__ = ["GRADERS"]
