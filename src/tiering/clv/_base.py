"""Machinery shared by the models: input checks, aggregation, maximum likelihood, errors.

Every model is fitted the same way: the data are reduced to their distinct rows with a
weight (the number of customers sharing them), the *mean* negative log-likelihood per
customer plus ``penalizer * sum(params**2)`` (the penalty lifetimes uses) is minimised
over the logarithms of the parameters with L-BFGS-B, and the standard errors come from
the inverse of a numerically differentiated Hessian of the total negative
log-likelihood at the optimum (delta method back to the natural parameters).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import optimize

from tiering.clv.errors import ConvergenceError, ModelError, NotFittedError

#: Bounds on the log of every parameter: reaching one means the estimate runs off.
LOG_BOUND = 25.0


# --------------------------------------------------------------------------- inputs


def as_float_array(name: str, value: Any) -> np.ndarray:
    """``value`` (scalar, list, NumPy array, pandas Series, Arrow array) as float64."""
    try:
        if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):
            try:
                arr = value.to_numpy(dtype=float, na_value=np.nan)
            except TypeError:
                arr = np.asarray(value.to_numpy(zero_copy_only=False), dtype=float)
        else:
            arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"{name} must be numbers ({exc})",
            f"{name} 必须是数值（{exc}）",
        ) from exc
    if arr.ndim > 1:
        raise ModelError(
            f"{name} must be one-dimensional (got shape {arr.shape})",
            f"{name} 必须是一维的（实际形状 {arr.shape}）",
        )
    return arr


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask.ravel())[0])


def check_finite(name: str, arr: np.ndarray) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        n, i = int(bad.sum()), _first(bad)
        raise ModelError(
            f"{name} has {n} missing (NaN) or infinite value(s) (first at position {i})",
            f"{name} 有 {n} 个缺失（NaN）或无穷值（第一个在位置 {i}）",
        )


def check_non_negative(name: str, arr: np.ndarray) -> None:
    bad = arr < 0
    if bad.any():
        n, i = int(bad.sum()), _first(bad)
        raise ModelError(
            f"{name} has {n} negative value(s) (first at position {i}: {arr.ravel()[i]:g})",
            f"{name} 有 {n} 个负值（第一个在位置 {i}：{arr.ravel()[i]:g}）",
        )


def check_integer(name: str, arr: np.ndarray) -> None:
    bad = arr != np.floor(arr)
    if bad.any():
        i = _first(bad)
        raise ModelError(
            f"{name} must be whole numbers (counts of repeat purchases); "
            f"position {i} has {arr.ravel()[i]:g}",
            f"{name} 必须是整数（重复购买的次数）；位置 {i} 的值为 {arr.ravel()[i]:g}",
        )


def same_length(names: Sequence[str], arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Broadcast ``arrays`` (scalars allowed) or raise naming the different lengths."""
    try:
        return [np.asarray(a) for a in np.broadcast_arrays(*arrays)]
    except ValueError:
        sizes = ", ".join(str(a.size) if a.ndim else "scalar" for a in arrays)
        sizes_zh = "、".join(str(a.size) if a.ndim else "标量" for a in arrays)
        joined = ", ".join(names[:-1]) + " and " + names[-1]
        joined_zh = "、".join(names[:-1]) + " 和 " + names[-1]
        raise ModelError(
            f"{joined} must have the same length; got {sizes}",
            f"{joined_zh} 的长度必须相同；实际为 {sizes_zh}",
        ) from None


def check_rft(
    frequency: Any, recency: Any, T: Any, *, fitting: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the (frequency, recency, T) summary of each customer."""
    names = ("frequency", "recency", "T")
    arrays = [as_float_array(n, v) for n, v in zip(names, (frequency, recency, T), strict=True)]
    if fitting and any(a.ndim == 0 for a in arrays):
        raise ModelError(
            "fit() needs one value per customer (arrays), not scalars",
            "fit() 需要每位客户一个值（数组），而不是标量",
        )
    x, t_x, big_t = same_length(names, arrays)
    for name, arr in zip(names, (x, t_x, big_t), strict=True):
        check_finite(name, arr)
        check_non_negative(name, arr)
    check_integer("frequency", x)
    bad = t_x > big_t
    if bad.any():
        n, i = int(bad.sum()), _first(bad)
        rec, tt = t_x.ravel()[i], big_t.ravel()[i]
        raise ModelError(
            f"recency is greater than T for {n} customer(s) "
            f"(first at position {i}: recency {rec:g} > T {tt:g})",
            f"有 {n} 位客户的 recency 大于 T（第一个在位置 {i}：recency {rec:g} > T {tt:g}）",
        )
    bad = (x == 0) & (t_x != 0)
    if bad.any():
        i = _first(bad)
        raise ModelError(
            f"recency must be 0 when frequency is 0 (position {i} has recency "
            f"{t_x.ravel()[i]:g}): recency is the time from the first to the last purchase",
            f"frequency 为 0 时 recency 必须为 0（位置 {i} 的 recency 为 {t_x.ravel()[i]:g}）："
            "recency 是首次购买到最后一次购买的时间",
        )
    if fitting and x.size == 0:
        raise ModelError("no customers to fit", "没有可拟合的客户")
    if fitting and not (x > 0).any():
        raise ModelError(
            "no customer has a repeat purchase (all frequencies are 0): "
            "there is nothing to learn the purchase rates from",
            "没有客户有重复购买（frequency 全为 0）：无法从中估计购买率",
        )
    return x, t_x, big_t


def check_weights(weights: Any, n: int) -> np.ndarray:
    """Non-negative weights (counts of customers per row), ones when None."""
    if weights is None:
        return np.ones(n)
    w = as_float_array("weights", weights)
    w = same_length(("rows", "weights"), (np.empty(n), w))[1].astype(float)
    check_finite("weights", w)
    check_non_negative("weights", w)
    if not w.sum() > 0:
        raise ModelError(
            "weights sum to 0: no customers to fit", "weights 之和为 0：没有可拟合的客户"
        )
    return w


def check_time(name: str, t: Any) -> np.ndarray:
    arr = as_float_array(name, t)
    check_finite(name, arr)
    check_non_negative(name, arr)
    return arr


def wrap_like(result: np.ndarray, *inputs: Any) -> Any:
    """A float for all-scalar inputs; a pandas Series when an input has an index."""
    if result.ndim == 0:
        return float(result)
    import pandas as pd

    for value in inputs:
        if isinstance(value, pd.Series) and len(value.index) == result.size:
            return pd.Series(result, index=value.index)
    return result


# --------------------------------------------------------------------------- aggregation


def distinct_index(
    columns: Sequence[np.ndarray],
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """The distinct rows of ``columns`` and, for each row, which distinct row it is.

    Returns, per column, its distinct values and the code of each distinct row into
    them, and the inverse: the distinct row of each input row.
    """
    uniques, codes = [], []
    for col in columns:
        u, inv = np.unique(col, return_inverse=True)
        uniques.append(u)
        codes.append(inv.ravel().astype(np.int64))
    sizes = [len(u) for u in uniques]
    if float(np.prod([float(s) for s in sizes])) < 2.0**62:
        key = np.zeros(len(codes[0]), dtype=np.int64)
        for size, code in zip(sizes, codes, strict=True):
            key = key * size + code
        keys, inverse = np.unique(key, return_inverse=True)
        row_codes = []
        for size in reversed(sizes):
            row_codes.append(keys % size)
            keys = keys // size
        row_codes.reverse()
    else:  # pragma: no cover - astronomically many distinct values
        stacked = np.stack(codes, axis=1)
        rows, inverse = np.unique(stacked, axis=0, return_inverse=True)
        row_codes = [rows[:, j] for j in range(rows.shape[1])]
    return uniques, row_codes, inverse.ravel()


def distinct_rows(
    columns: Sequence[np.ndarray], weights: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Collapse identical rows of ``columns`` summing their ``weights``.

    Returns, per column, its distinct values and the code of each distinct row into them,
    and the weight of each distinct row. Rows with weight 0 are dropped.
    """
    keep = weights > 0
    if not keep.all():
        columns = [c[keep] for c in columns]
        weights = weights[keep]
    uniques, row_codes, inverse = distinct_index(columns)
    w = np.bincount(inverse, weights=weights, minlength=len(row_codes[0]))
    return uniques, row_codes, w


# --------------------------------------------------------------------------- models


class ModelBase:
    """Parameters in ``__init__``, data in ``fit`` (scikit-learn conventions).

    Subclasses set ``_param_names`` and implement ``_nll(theta, data)`` returning the
    total negative log-likelihood (and, when ``_has_gradient``, its gradient with respect
    to ``theta``, the logs of the parameters) of a prepared data object.
    """

    _param_names: tuple[str, ...] = ()
    _has_gradient = False

    def __init__(
        self,
        penalizer: float = 0.0,
        initial_params: Mapping[str, float] | Sequence[float] | None = None,
        max_iter: int = 1000,
        tol: float = 1e-10,
    ):
        self.penalizer = penalizer
        self.initial_params = initial_params
        self.max_iter = max_iter
        self.tol = tol

    # -- scikit-learn style parameter handling

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters, as scikit-learn's ``get_params``."""
        return {
            "penalizer": self.penalizer,
            "initial_params": self.initial_params,
            "max_iter": self.max_iter,
            "tol": self.tol,
        }

    def set_params(self, **params: Any) -> ModelBase:
        """Set constructor parameters; returns self."""
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise ModelError(
                    f"{type(self).__name__} has no parameter {key!r}",
                    f"{type(self).__name__} 没有参数 {key!r}",
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = ModelBase().get_params()
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k]]
        return f"{type(self).__name__}({', '.join(changed)})"

    @classmethod
    def from_params(cls, **params: float) -> ModelBase:
        """A model with known parameters (e.g. published ones), ready to predict.

        Parameters
        ----------
        **params
            One positive value per parameter name (see ``params_``).

        Returns
        -------
        model
            Its ``params_`` is set; ``log_likelihood_`` and ``standard_errors_`` are not.
        """
        if set(params) != set(cls._param_names):
            raise ModelError(
                f"{cls.__name__} needs exactly the parameters {', '.join(cls._param_names)}",
                f"{cls.__name__} 需要且只需要参数 {'、'.join(cls._param_names)}",
            )
        values = np.array([float(params[k]) for k in cls._param_names])
        if not (np.isfinite(values).all() and (values > 0).all()):
            raise ModelError(
                f"{cls.__name__} parameters must be positive numbers",
                f"{cls.__name__} 的参数必须是正数",
            )
        model = cls()
        model.params_ = dict(zip(cls._param_names, values.tolist(), strict=True))
        return model

    def _check_fitted(self) -> tuple[float, ...]:
        params = getattr(self, "params_", None)
        if params is None:
            name = type(self).__name__
            raise NotFittedError(
                f"{name} is not fitted yet: call fit() (or {name}.from_params()) first",
                f"{name} 尚未拟合：请先调用 fit()（或 {name}.from_params()）",
            )
        return tuple(params[k] for k in self._param_names)

    # -- fitting

    def _nll(self, theta: np.ndarray, data: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _initial(self, data: Any) -> np.ndarray:
        return np.ones(len(self._param_names))

    def _start(self, data: Any) -> np.ndarray:
        init = self.initial_params
        names = self._param_names
        if init is None:
            values = np.asarray(self._initial(data), dtype=float)
        elif isinstance(init, Mapping):
            missing = [k for k in names if k not in init]
            if missing or set(init) - set(names):
                raise ModelError(
                    f"initial_params must give {', '.join(names)}",
                    f"initial_params 必须给出 {'、'.join(names)}",
                )
            values = np.array([float(init[k]) for k in names])
        else:
            values = np.asarray(init, dtype=float).ravel()
            if values.size != len(names):
                raise ModelError(
                    f"initial_params must give {len(names)} values ({', '.join(names)})",
                    f"initial_params 必须给出 {len(names)} 个值（{'、'.join(names)}）",
                )
        if not (np.isfinite(values).all() and (values > 0).all()):
            raise ModelError("initial_params must be positive numbers", "initial_params 必须是正数")
        return np.log(values)

    def _objective(self, data: Any, total: float) -> Callable[[np.ndarray], Any]:
        """Mean negative log-likelihood per customer plus the penalty, with gradient."""
        pen = float(self.penalizer)

        def value(theta: np.ndarray) -> float:
            nll = self._nll(theta, data)
            nll = nll[0] if isinstance(nll, tuple) else nll
            return nll / total + pen * float(np.sum(np.exp(2 * theta)))

        if self._has_gradient:

            def with_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
                nll, grad = self._nll(theta, data)
                p2 = np.exp(2 * theta)
                return nll / total + pen * float(p2.sum()), grad / total + 2 * pen * p2

            return with_grad

        def numeric(theta: np.ndarray) -> tuple[float, np.ndarray]:
            f0 = value(theta)
            grad = np.empty_like(theta)
            for i in range(theta.size):
                h = 1e-6 * max(1.0, abs(theta[i]))
                e = np.zeros_like(theta)
                e[i] = h
                grad[i] = (value(theta + e) - value(theta - e)) / (2 * h)
            return f0, grad

        return numeric

    def _fit_prepared(self, data: Any, total: float, n_customers: int) -> None:
        """Maximise the likelihood of prepared data and set the learned attributes."""
        name = type(self).__name__
        if not (np.isfinite(self.penalizer) and self.penalizer >= 0):
            raise ModelError("penalizer must be >= 0", "penalizer 必须 >= 0")
        fun = self._objective(data, total)
        theta0 = self._start(data)
        f0 = fun(theta0)[0]
        if not np.isfinite(f0):
            raise ConvergenceError(
                f"{name}: the log-likelihood is not finite at the initial parameters; "
                + _ADVICE_EN,
                f"{name}：初始参数处的对数似然不是有限值；" + _ADVICE_ZH,
            )
        bounds = [(-LOG_BOUND, LOG_BOUND)] * theta0.size
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            res = optimize.minimize(
                fun,
                theta0,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={
                    "maxiter": int(self.max_iter),
                    "ftol": 1e-15,
                    "gtol": self.tol,
                    "maxcor": 20,
                },
            )
        theta = res.x
        grad = fun(theta)[1]
        grad_norm = float(np.max(np.abs(grad)))
        ok = np.isfinite(res.fun) and (res.success or grad_norm < 1e-6)
        if not ok:
            why_en, why_zh = _reason(res)
            raise ConvergenceError(
                f"{name} did not converge after {res.nit} iterations ({why_en}); " + _ADVICE_EN,
                f"{name} 在 {res.nit} 次迭代后未收敛（{why_zh}）；" + _ADVICE_ZH,
            )
        edge = np.abs(theta) > LOG_BOUND - 1e-3
        if edge.any():
            which = ", ".join(self._param_names[i] for i in np.flatnonzero(edge))
            raise ConvergenceError(
                f"{name} did not converge: the estimate of {which} runs off to "
                "0 or infinity (the data cannot pin it down); " + _ADVICE_EN,
                f"{name} 未收敛：{which} 的估计趋于 0 或无穷（数据无法确定它）；" + _ADVICE_ZH,
            )
        params = np.exp(theta)
        nll = self._nll(theta, data)
        nll = nll[0] if isinstance(nll, tuple) else nll
        self.params_ = dict(zip(self._param_names, params.tolist(), strict=True))
        self.log_likelihood_ = float(-nll)
        self.standard_errors_ = self._standard_errors(fun, theta, total)
        self.n_customers_ = int(n_customers)
        self.n_iter_ = int(res.nit)

    def _standard_errors(
        self, fun: Callable[[np.ndarray], Any], theta: np.ndarray, total: float
    ) -> dict[str, float]:
        """sqrt(diag(H⁻¹)) with H the Hessian of the total objective in the natural
        parameters, obtained by central differences of the gradient in log space."""
        k = theta.size
        hess = np.empty((k, k))
        for i in range(k):
            h = 1e-5 * max(1.0, abs(theta[i]))
            e = np.zeros(k)
            e[i] = h
            hess[:, i] = (fun(theta + e)[1] - fun(theta - e)[1]) / (2 * h)
        hess = 0.5 * (hess + hess.T) * total
        grad = fun(theta)[1] * total
        p = np.exp(theta)
        # d²f/dθ² in natural units: (H_log − diag(grad_log)) / (p pᵀ)
        h_nat = (hess - np.diag(grad)) / np.outer(p, p)
        se = np.full(k, np.nan)
        try:
            cov = np.linalg.inv(h_nat)
        except np.linalg.LinAlgError:
            cov = None
        if cov is not None:
            diag = np.diag(cov)
            good = np.isfinite(diag) & (diag > 0)
            se[good] = np.sqrt(diag[good])
        return dict(zip(self._param_names, se.tolist(), strict=True))


_ADVICE_EN = (
    "try a small penalizer (e.g. penalizer=0.001), more data, other initial_params, "
    "or a time unit that keeps T in the tens (weeks rather than days)"
)
_ADVICE_ZH = (
    "可以尝试较小的惩罚项（如 penalizer=0.001）、更多数据、其他 initial_params，"
    "或换一个使 T 在几十左右的时间单位（例如用周而不是天）"
)


def _reason(res: Any) -> tuple[str, str]:
    """Why L-BFGS-B stopped, in English and Chinese."""
    msg = res.message
    if isinstance(msg, bytes):  # pragma: no cover - older SciPy
        msg = msg.decode()
    msg = str(msg)
    if "ITERATIONS REACHED LIMIT" in msg.upper():
        return "max_iter reached", "达到 max_iter 上限"
    if msg.upper().startswith("ABNORMAL"):
        return (
            "the line search cannot improve the likelihood: it is flat along some parameter",
            "线搜索无法再提高似然：似然在某个参数方向上是平的",
        )
    return msg, msg


class PurchaseModelBase(ModelBase):
    """What the purchase models (BG/NBD, MBG/NBD, Pareto/NBD) share: the checked public
    prediction around each model's own ``_conditional(t, x, t_x, T)``."""

    def _conditional(self, t: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray):
        raise NotImplementedError  # pragma: no cover - each model has its own

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """Expected number of purchases in the next ``t`` periods, given the history.

        Parameters
        ----------
        t : array-like or scalar
            Length of the future period, in the unit of the fitted data (>= 0).
        frequency, recency, T : array-like or scalar
            The customers' summaries, as in :meth:`fit`.

        Returns
        -------
        ndarray, pandas.Series or float
            ``E[Y(t) | x, t_x, T]``, increasing in t.
        """
        t_arr = check_time("t", t)
        x, t_x, big_t = check_rft(frequency, recency, T)
        t_arr, x, t_x, big_t = same_length(
            ("t", "frequency", "recency", "T"), (t_arr, x, t_x, big_t)
        )
        return wrap_like(self._conditional(t_arr, x, t_x, big_t), frequency, recency, T, t)
