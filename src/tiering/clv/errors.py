"""Errors raised by :mod:`tiering.clv`.

::

    TieringError                 (tiering.exceptions) base of everything the engine reports
    └── ModelError               invalid data for a model (or for summarize/CLV)
        ├── NotFittedError       a prediction asked of a model that was never fitted
        └── ConvergenceError     maximum likelihood did not converge

Each carries its message in English and in Simplified Chinese (``error.message("zh")``).
"""

from __future__ import annotations

from tiering.exceptions import TieringError


class ModelError(TieringError):
    """Invalid input for a customer-lifetime model, :func:`summarize` or the CLV.

    Parameters
    ----------
    en, zh
        The message in English and in Simplified Chinese.
    """


class NotFittedError(ModelError):
    """A prediction was asked of a model that has no parameters yet (call ``fit`` first)."""


class ConvergenceError(ModelError):
    """Maximum likelihood estimation stopped without reaching an optimum.

    The message says what to try: a ``penalizer``, more data, or a different time unit.
    """
