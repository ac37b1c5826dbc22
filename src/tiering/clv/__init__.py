"""Customer lifetime value: buy-till-you-die models fitted by maximum likelihood.

One module per model, each a scikit-learn-style estimator (parameters in ``__init__``,
``fit`` returns self, learned state in attributes ending in ``_``):

- :class:`BetaGeoModel` (:mod:`.bgnbd`): BG/NBD, Fader, Hardie & Lee (2005);
- :class:`ModifiedBetaGeoModel` (:mod:`.mbgnbd`): MBG/NBD, Batislam et al. (2007);
- :class:`ParetoNBDModel` (:mod:`.paretonbd`): Pareto/NBD, Schmittlein et al. (1987);
- :class:`GammaGammaModel` (:mod:`.gammagamma`): spend per transaction, Fader, Hardie &
  Lee (2005, "RFM and CLV").

:func:`summarize` (:mod:`.summary`) turns transactions into the per-customer
``frequency, recency, T, monetary_value`` they take; :func:`customer_lifetime_value`
(:mod:`.value`) combines a purchase model and a spend model into a discounted value over a
horizon; :mod:`.simulate` draws customer bases from the models.

>>> from tiering import clv
>>> summary = clv.summarize(transactions, as_of="1997-09-30", unit="W")  # doctest: +SKIP
>>> bg = clv.BetaGeoModel().fit(summary.frequency, summary.recency, summary["T"])  # doctest: +SKIP
>>> repeat = summary[summary.frequency > 0]  # doctest: +SKIP
>>> gg = clv.GammaGammaModel().fit(repeat.frequency, repeat.monetary_value)  # doctest: +SKIP
>>> clv.customer_lifetime_value(bg, gg, *summary.to_numpy().T)  # doctest: +SKIP

Errors are :class:`ModelError` (a :class:`tiering.exceptions.TieringError`) and its
subclasses :class:`NotFittedError` and :class:`ConvergenceError`, in English and Chinese.
"""

from tiering.clv.bgnbd import BetaGeoModel
from tiering.clv.errors import ConvergenceError, ModelError, NotFittedError
from tiering.clv.gammagamma import GammaGammaModel
from tiering.clv.mbgnbd import ModifiedBetaGeoModel
from tiering.clv.paretonbd import ParetoNBDModel
from tiering.clv.simulate import simulate_bgnbd, simulate_gamma_gamma, simulate_paretonbd
from tiering.clv.summary import summarize
from tiering.clv.value import customer_lifetime_value

__all__ = [
    "BetaGeoModel",
    "ConvergenceError",
    "GammaGammaModel",
    "ModelError",
    "ModifiedBetaGeoModel",
    "NotFittedError",
    "ParetoNBDModel",
    "customer_lifetime_value",
    "simulate_bgnbd",
    "simulate_gamma_gamma",
    "simulate_paretonbd",
    "summarize",
]
