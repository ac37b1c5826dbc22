"""A seeded generator of a realistic demo company for the tiering engine.

:func:`generate_demo` writes a customer master file and a transaction ledger for a
fictional Chinese B2B seller, with the Chinese column headers a real company's export
would carry (客户编号, 客户名称, 行业 ... and 单号, 客户编号, 日期, 金额, 成本, 类型). It exists so
that every grading method in the product (thresholds, Pareto/ABC by profit, scorecards,
membership tiers, prospect grading, RFM) can be shown, tested and benchmarked on data that
behaves like the real thing, without anyone's real customers:

- value is heavily skewed: a lognormal customer-size factor makes the top 20% of customers
  bring roughly three quarters of revenue, and size drives 规模, 影响力 and 资信等级;
- exactly one key account, always the first customer (C000001), holds about 10% (8–12%)
  of the total revenue, to show concentration risk (over-dependence on one customer);
- about 8% are prospects (状态=潜在) with no transactions and a 预计成交日期 between one
  month before ``end`` and eighteen months after it, for prospect grading;
- about 10% are dormant (沉默): their last order is more than six months before ``end``;
- the other customers are active, with a negative-binomial order count (about 10 orders
  per customer over three years on average, all customers counted), some acquired during
  the period, some growing and some shrinking over time;
- margins are mostly 10–35%, but about 3% of customers, chosen mostly among the bigger
  ones, lose money (cost exceeds revenue: "big-looking but unprofitable");
- about 3% of orders are returns (类型=退货) with a negative amount and a negative (reversed)
  cost, sized from the customer's typical order.

Payments received (回款单号, 客户编号, 回款日期, 回款金额) follow the sales: about 78% of
customers pay every invoice in full some two to eight weeks after it, 14% pay in full but
slowly (two to eight months), 8% pay only part of each invoice (40–90%) after one to
three months; a return is deducted from the customer's next invoice. Payments falling
after ``end`` are not made yet (they are the receivables at ``end``).

Everything is drawn from one ``numpy.random.default_rng(seed)`` in a fixed order and is
vectorised, so a given (seed, customers, start, end) always gives the same data, whatever
the output format, and a million customers (about ten million transactions) take well
under a minute in parquet. The payments draw from a second generator seeded by
``(seed, 1)``, so the customers and transactions are the same as before payments existed.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = [
    "CUSTOMER_COLUMNS",
    "MAX_XLSX_CUSTOMERS",
    "PAYMENT_COLUMNS",
    "TRANSACTION_COLUMNS",
    "DemoFiles",
    "generate_demo",
]

CUSTOMER_COLUMNS: tuple[str, ...] = (
    "客户编号",
    "客户名称",
    "行业",
    "规模",
    "性质",
    "业务模式",
    "需求类型",
    "影响力",
    "关系",
    "资信等级",
    "地区",
    "客户经理",
    "状态",
    "预计成交日期",
)
TRANSACTION_COLUMNS: tuple[str, ...] = ("单号", "客户编号", "日期", "金额", "成本", "类型")
PAYMENT_COLUMNS: tuple[str, ...] = ("回款单号", "客户编号", "回款日期", "回款金额")
MAX_XLSX_CUSTOMERS = 1_000_000
FORMATS = ("xlsx", "csv", "parquet")

_BOM = b"\xef\xbb\xbf"

# ---------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------

_REGIONS = ("华东", "华南", "华北", "华中", "西南", "西北", "东北")
_REGION_P = (0.32, 0.20, 0.16, 0.12, 0.10, 0.05, 0.05)
_REGION_CITIES: tuple[tuple[str, ...], ...] = tuple(
    tuple(cities.split())
    for cities in (
        "上海 杭州 南京 苏州 宁波 无锡 合肥 济南 青岛 福州 厦门 温州 常州 南通 绍兴 嘉兴 金华 台州"
        " 徐州 烟台 潍坊 芜湖",
        "广州 深圳 东莞 佛山 珠海 中山 惠州 汕头 南宁 柳州 桂林 海口 三亚 江门",
        "北京 天津 石家庄 唐山 保定 太原 大同 呼和浩特 包头 廊坊 沧州 邯郸",
        "武汉 长沙 郑州 洛阳 南昌 宜昌 襄阳 株洲 岳阳 赣州 新乡",
        "成都 重庆 昆明 贵阳 绵阳 遵义 宜宾 拉萨 南充 曲靖",
        "西安 兰州 银川 西宁 乌鲁木齐 宝鸡 咸阳 榆林",
        "沈阳 大连 哈尔滨 长春 吉林 鞍山 大庆 齐齐哈尔 锦州",
    )
)

_INDUSTRIES = ("制造业", "建筑业", "批发零售", "信息技术", "医药", "物流", "餐饮", "能源")
_INDUSTRY_P = (0.25, 0.14, 0.20, 0.10, 0.07, 0.09, 0.07, 0.08)
_INDUSTRY_WORDS: tuple[tuple[str, ...], ...] = tuple(
    tuple(words.split())
    for words in (
        "机械制造 精密机械 电子 五金制品 模具 塑胶制品 纺织 汽车配件 电器 新材料 包装制品 智能装备",
        "建设 建工 建筑工程 路桥 装饰工程 市政工程 钢结构 水利工程 幕墙工程 建材",
        "贸易 商贸 百货 进出口 实业 供销 电子商务 五金交电 日用品 食品",
        "科技 信息技术 软件 网络科技 数据科技 智能科技 通信技术 云计算 系统集成",
        "医药 生物科技 医疗器械 药业 制药 健康科技 医药连锁",
        "物流 供应链管理 运输 仓储 货运代理 冷链物流 快运",
        "餐饮管理 餐饮 酒店管理 餐饮连锁 餐饮服务 团餐服务",
        "能源 新能源 电力工程 石化 燃气 光伏科技 环保能源",
    )
)
_BRAND_CHARS = tuple(
    "恒信华泰鑫源宏达盛通瑞丰金安康德嘉利隆昌荣新正永博远兴汇明凯顺天海宇长诚锦鼎辉晨东方中联创"
    "卓越祥和润广众亿尚威力奥佳美立"
)
_COMPANY_SUFFIXES = ("有限公司", "股份有限公司", "有限责任公司", "集团有限公司")
_PERSONAL_SUFFIXES = ("经营部", "商行", "工作室", "门市部")

_SIZES = ("大型", "中型", "小型", "微型")
_NATURES = ("企业", "个人", "合作伙伴")
_NATURE_P = (0.82, 0.10, 0.08)
_MODES = ("施工单位", "贸易公司", "运营中心", "项目零售")
# 业务模式 given 行业 (rows follow _INDUSTRIES).
_MODE_P = (
    (0.05, 0.35, 0.35, 0.25),
    (0.75, 0.10, 0.05, 0.10),
    (0.03, 0.62, 0.15, 0.20),
    (0.10, 0.20, 0.45, 0.25),
    (0.02, 0.45, 0.28, 0.25),
    (0.05, 0.25, 0.60, 0.10),
    (0.02, 0.10, 0.48, 0.40),
    (0.30, 0.30, 0.30, 0.10),
)
_NEEDS = ("产品型", "服务型", "综合型")
_NEEDS_P = (0.45, 0.20, 0.35)
_INFLUENCE = ("高", "中", "低")
_RELATIONS = ("紧密", "一般", "疏远")
_CREDIT = ("AAA", "AA", "A", "BBB", "BB", "B")
_STATUSES = ("活跃", "沉默", "潜在")
_ACTIVE, _DORMANT, _PROSPECT = 0, 1, 2
_TYPES = ("销售", "退货")

_SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金"
)
_GIVEN_CHARS = tuple(
    "伟芳娜敏静磊强洋勇艳杰娟涛明超秀霞平刚桂丽军婷浩宇鹏辉玲峰雪琳晨阳欣博文斌凯倩颖建华志红海"
    "晓飞佳俊慧思雨子梦天宏春兰亮琦"
)

# ---------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------

_ORDERS_PER_CUSTOMER = 10.0  # per three years, over all customers, prospects included
_SIZE_SIGMA = 1.2  # lognormal sigma of the customer-size factor
_FREQ_ELASTICITY = 0.35  # order count ~ size**a, order amount ~ size**(1 - a)
_NB_SHAPE = 2.0  # negative-binomial dispersion of order counts
_TYPICAL_ORDER = 6000.0  # yuan, typical order of a median-sized customer
_PROSPECT_SHARE = 0.08
_DORMANT_SHARE = 0.10
_LOSS_SHARE = 0.03
_RETURN_SHARE = 0.03
_BIG_SHARE = (0.09, 0.11)  # revenue share of the key account, drawn uniformly
_OTHER_SHARE_CAP = 0.04  # no other customer brings more than about this share
_BIG_ORDERS = 300  # mean order count of the key account over three years


@dataclass(frozen=True)
class DemoFiles:
    """The files :func:`generate_demo` wrote and how many rows each holds."""

    customers: Path
    transactions: Path
    customer_count: int
    transaction_count: int
    payments: Path | None = None
    payment_count: int = 0


def generate_demo(
    directory: str | os.PathLike[str],
    customers: int = 2000,
    seed: int = 1,
    fmt: str = "xlsx",
    start: date = date(2023, 10, 1),
    end: date = date(2026, 9, 30),
    progress: Callable[[str, float], None] | None = None,
) -> DemoFiles:
    """Generate a demo company's customers and transactions into ``directory``.

    Files (the directory is created if missing; each file is written atomically):

    - ``fmt="xlsx"``: ``customers.xlsx``, ``交易记录.csv`` and ``回款记录.csv`` (UTF-8 with
      BOM); at most 1,000,000 customers (an Excel sheet holds 1,048,576 rows), use parquet
      above that;
    - ``fmt="csv"``: ``customers.csv``, ``交易记录.csv`` and ``回款记录.csv`` (all UTF-8
      with BOM);
    - ``fmt="parquet"``: ``customers.parquet``, ``transactions.parquet`` and
      ``payments.parquet``.

    Payments carry :data:`PAYMENT_COLUMNS` (回款日期 a date, 回款金额 positive, as 金额 is
    written), sorted by date, then customer; 回款单号 is ``HK`` + the date + a sequence.

    Customers carry the columns in :data:`CUSTOMER_COLUMNS`, all text; 预计成交日期 is an
    ISO ``YYYY-MM-DD`` string for prospects and empty (null) for everyone else.
    Transactions carry :data:`TRANSACTION_COLUMNS`: 日期 is a date (``YYYY-MM-DD`` text in
    CSV, date32 in parquet), 金额 and 成本 are rounded to cents (float64 in parquet, text
    with two decimals in CSV), both negative for returns (类型=退货). Transactions are
    sorted by date, then customer; 单号 is ``XS`` (sale) or ``TH`` (return) + the date +
    a per-day sequence number.

    The first customer (``C000001``, or ``C0000001`` from a million customers up) is
    the key account holding 8–12% of total revenue over the period; no other customer
    brings more than about 4% (in demos of a few dozen customers others can come close).
    Order volume scales with the length of the period (about 10 per customer per three
    years).

    Args:
        directory: where to write the two files.
        customers: number of customers, at least 1.
        seed: seed of ``numpy.random.default_rng``; same seed and arguments, same data.
        fmt: ``"xlsx"``, ``"csv"`` or ``"parquet"``.
        start: first possible order date.
        end: last possible order date (the "as of" date of the demo); must be at least
            seven months after ``start`` so that dormant customers fit.
        progress: optional ``progress(stage_label, fraction_done)`` callback, called a
            handful of times with a non-decreasing fraction ending at 1.0.

    Returns:
        The paths written and the row counts.

    Raises:
        ValueError: on an unknown format, fewer than one customer, too many customers
            for xlsx, or too short a date range.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if fmt == "xlsx" and customers > MAX_XLSX_CUSTOMERS:
        raise ValueError(
            f"{customers:,} customers do not fit in an Excel sheet (limit "
            f"{MAX_XLSX_CUSTOMERS:,}); use fmt='parquet' (or 'csv') for larger demos"
        )
    if _add_months(start, 7) > end:
        raise ValueError(
            f"the date range {start} to {end} is too short: need at least seven months "
            "so that dormant customers (no order for six months) fit"
        )

    def report(label: str, fraction: float) -> None:
        if progress is not None:
            progress(label, fraction)

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    report("generating customers", 0.0)
    people = _make_customers(rng, customers, end)
    report("generating transactions", 0.15)
    ledger = _make_transactions(rng, people, start, end)
    ids = _customer_ids(customers)
    customer_table = _customer_table(people, ids)
    transaction_table = _transaction_table(ledger, ids, start, end)
    payment_table = _payment_table(
        _make_payments(np.random.default_rng((seed, 1)), ledger, customers, end), ids, start, end
    )
    del ledger
    report("writing customers", 0.5)

    if fmt == "parquet":
        customers_path = out / "customers.parquet"
        transactions_path = out / "transactions.parquet"
        _write_parquet(customer_table, customers_path)
        report("writing transactions", 0.6)
        _write_parquet(_transactions_for_parquet(transaction_table), transactions_path)
        payments_path = out / "payments.parquet"
        _write_parquet(_transactions_for_parquet(payment_table, ("回款金额",)), payments_path)
    else:
        transactions_path = out / "交易记录.csv"
        if fmt == "xlsx":
            customers_path = out / "customers.xlsx"
            _write_xlsx(
                customer_table, customers_path, lambda f: report("writing customers", 0.5 + 0.3 * f)
            )
            report("writing transactions", 0.8)
        else:
            customers_path = out / "customers.csv"
            _write_csv(customer_table, customers_path)
            report("writing transactions", 0.6)
        _write_csv(_transactions_for_csv(transaction_table), transactions_path)
        payments_path = out / "回款记录.csv"
        _write_csv(_transactions_for_csv(payment_table, ("回款金额",)), payments_path)
    report("done", 1.0)
    return DemoFiles(
        customers=customers_path,
        transactions=transactions_path,
        customer_count=customer_table.num_rows,
        transaction_count=transaction_table.num_rows,
        payments=payments_path,
        payment_count=payment_table.num_rows,
    )


# ---------------------------------------------------------------------------------------
# Customers
# ---------------------------------------------------------------------------------------


@dataclass
class _People:
    """Per-customer draws (numpy arrays indexed by customer position)."""

    n: int
    status: np.ndarray  # int8: _ACTIVE / _DORMANT / _PROSPECT
    size: np.ndarray  # float64 size factor (lognormal)
    industry: np.ndarray
    region: np.ndarray
    nature: np.ndarray
    scale: np.ndarray  # 规模
    mode: np.ndarray
    needs: np.ndarray
    influence: np.ndarray
    relation: np.ndarray
    credit: np.ndarray
    manager: np.ndarray
    managers: list[str]
    names: pa.Array
    close_day: np.ndarray  # days since epoch of 预计成交日期 (prospects only)
    margin: np.ndarray  # gross margin per customer
    loss: np.ndarray  # bool: loss-making


def _make_customers(rng: np.random.Generator, n: int, end: date) -> _People:
    idx = np.arange(n)
    industry = _categorical(rng, _INDUSTRY_P, n)
    region = _categorical(rng, _REGION_P, n)
    nature = _categorical(rng, _NATURE_P, n)
    size = rng.lognormal(0.0, _SIZE_SIGMA, n)
    size[nature == 1] *= 0.3  # individuals (个体户) are small
    log_size = np.log(size)

    # Status: exact shares among everybody but the key account, drawn by permutation.
    status = np.zeros(n, dtype=np.int8)
    others = rng.permutation(np.arange(1, n))
    n_prospects = round(_PROSPECT_SHARE * n)
    n_dormant = round(_DORMANT_SHARE * n)
    status[others[:n_prospects]] = _PROSPECT
    status[others[n_prospects : n_prospects + n_dormant]] = _DORMANT

    # Attributes driven by size: 规模, 影响力, 资信等级 (noisy ranks, cut at quantiles).
    scale = _cut_by_rank(log_size + rng.normal(0.0, 0.6, n), (0.05, 0.25, 0.65))
    scale[nature == 1] = 3  # individuals are 微型
    influence = _cut_by_rank(log_size + rng.normal(0.0, 0.9, n), (0.15, 0.50))
    credit = _cut_by_rank(0.6 * log_size + rng.normal(0.0, 1.0, n), (0.08, 0.25, 0.55, 0.80, 0.92))
    mode = _conditional(rng, np.asarray(_MODE_P), industry)
    needs = _categorical(rng, _NEEDS_P, n)
    relation_p = np.array([[0.30, 0.55, 0.15], [0.10, 0.45, 0.45], [0.10, 0.50, 0.40]])
    relation = _conditional(rng, relation_p, status.astype(np.int64))
    bigger = log_size > np.quantile(log_size, 0.9) if n > 1 else np.zeros(n, dtype=bool)
    relation[bigger & (rng.random(n) < 0.5)] = 0  # big customers are courted

    n_managers = max(3, round(n / 40))
    managers = _person_names(rng, n_managers)
    manager = rng.integers(0, n_managers, n)

    names = _company_names(rng, industry, region, nature, scale)

    close_lo = _days(_add_months(end, -1))
    close_hi = _days(_add_months(end, 18))
    close_day = rng.integers(close_lo, close_hi + 1, n)

    margin = np.clip(rng.normal(0.22, 0.07, n), 0.03, 0.45)
    # Loss-makers: ~3% of buying customers, weighted towards big-looking ones
    # (Efraimidis–Spirakis weighted sampling without replacement).
    buyers = np.flatnonzero((status != _PROSPECT) & (idx > 0))
    n_loss = min(len(buyers), max(1, round(_LOSS_SHARE * len(buyers)))) if len(buyers) else 0
    keys = np.log(rng.random(len(buyers))) / np.sqrt(size[buyers])
    loss = np.zeros(n, dtype=bool)
    if n_loss:
        loss[buyers[np.argsort(-keys, kind="stable")[:n_loss]]] = True
    loss_margin = rng.uniform(-0.30, -0.06, n)
    margin = np.where(loss, loss_margin, margin)

    # The key account: a large, close, top-rated enterprise with a thin margin.
    industry[0], nature[0], scale[0], influence[0] = 0, 0, 0, 0
    relation[0], credit[0], mode[0], needs[0] = 0, 0, 2, 2
    margin[0] = 0.12
    names = _company_names_fix_first(names, industry, region, rng)

    return _People(
        n=n,
        status=status,
        size=size,
        industry=industry,
        region=region,
        nature=nature,
        scale=scale,
        mode=mode,
        needs=needs,
        influence=influence,
        relation=relation,
        credit=credit,
        manager=manager,
        managers=managers,
        names=names,
        close_day=close_day,
        margin=margin,
        loss=loss,
    )


def _categorical(rng: np.random.Generator, p: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(p)
    cum /= cum[-1]
    return np.searchsorted(cum, rng.random(n), side="right").astype(np.int64)


def _conditional(rng: np.random.Generator, p: np.ndarray, given: np.ndarray) -> np.ndarray:
    """One draw per row from the categorical distribution ``p[given[row]]``."""
    cum = np.cumsum(p, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(given))
    return (u[:, None] >= cum[given]).sum(axis=1).clip(0, p.shape[1] - 1).astype(np.int64)


def _cut_by_rank(score: np.ndarray, cuts: Sequence[float]) -> np.ndarray:
    """Category 0 for the top ``cuts[0]`` share of scores, 1 for the next band, etc."""
    n = len(score)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-score, kind="stable")] = np.arange(n)
    return np.searchsorted(np.asarray(cuts) * n, rank, side="right").astype(np.int64)


def _person_names(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` distinct Chinese person names (surname + one or two given characters)."""
    n_s, n_g = len(_SURNAMES), len(_GIVEN_CHARS)
    surname_p = 1.0 / np.arange(1, n_s + 1) ** 0.8  # common surnames are more common
    names: list[str] = []
    seen: set[str] = set()
    capacity = n_s * (n_g + n_g * n_g)
    if count > capacity:
        raise ValueError(f"cannot make {count} distinct manager names")
    while len(names) < count:
        want = count - len(names)
        s = _categorical(rng, surname_p, want)
        double = rng.random(want) < 0.6
        g1 = rng.integers(0, n_g, want)
        g2 = rng.integers(0, n_g, want)
        for si, d, a, b in zip(s, double, g1, g2, strict=True):
            name = _SURNAMES[si] + _GIVEN_CHARS[a] + (_GIVEN_CHARS[b] if d else "")
            if name not in seen:
                seen.add(name)
                names.append(name)
    return names


def _flat(groups: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Offsets and counts of each group in the flattened list, and the list."""
    counts = np.array([len(g) for g in groups])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return offsets, counts, [w for g in groups for w in g]


_CITY_OFF, _CITY_CNT, _CITIES = _flat(_REGION_CITIES)
_WORD_OFF, _WORD_CNT, _WORDS = _flat(_INDUSTRY_WORDS)
_BRANDS = [a + b for a in _BRAND_CHARS for b in _BRAND_CHARS if a != b]
_SUFFIXES = list(_COMPANY_SUFFIXES + _PERSONAL_SUFFIXES)
# 后缀 given 规模 (大型/中型/小型/微型) for enterprises; individuals use the personal ones.
_SUFFIX_P = np.array(
    [
        [0.20, 0.35, 0.05, 0.40],
        [0.60, 0.20, 0.12, 0.08],
        [0.80, 0.05, 0.15, 0.00],
        [0.85, 0.00, 0.15, 0.00],
    ]
)


def _company_names(
    rng: np.random.Generator,
    industry: np.ndarray,
    region: np.ndarray,
    nature: np.ndarray,
    scale: np.ndarray,
) -> pa.Array:
    """Unique names: city of the region + two-character brand + industry word + suffix."""
    n = len(industry)
    city = _CITY_OFF[region] + (rng.random(n) * _CITY_CNT[region]).astype(np.int64)
    word = _WORD_OFF[industry] + (rng.random(n) * _WORD_CNT[industry]).astype(np.int64)
    suffix = _conditional(rng, _SUFFIX_P, scale)
    personal = nature == 1
    suffix[personal] = len(_COMPANY_SUFFIXES) + rng.integers(
        0, len(_PERSONAL_SUFFIXES), int(personal.sum())
    )
    brand = rng.integers(0, len(_BRANDS), n)
    n_b, n_w, n_x = len(_BRANDS), len(_WORDS), len(_SUFFIXES)
    for _ in range(100):
        code = ((city * n_b + brand) * n_w + word) * n_x + suffix
        _, first = np.unique(code, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        # Re-draw the brand (and the city within the same region) of the later duplicates.
        k = int(dup.sum())
        brand[dup] = rng.integers(0, n_b, k)
        r = region[dup]
        city[dup] = _CITY_OFF[r] + (rng.random(k) * _CITY_CNT[r]).astype(np.int64)
    else:  # pragma: no cover - needs far more customers than the name space allows
        raise ValueError(f"cannot make {n} distinct company names")
    return pc.binary_join_element_wise(
        pa.array(_CITIES).take(pa.array(city)),
        pa.array(_BRANDS).take(pa.array(brand)),
        pa.array(_WORDS).take(pa.array(word)),
        pa.array(_SUFFIXES).take(pa.array(suffix)),
        "",
    )


def _company_names_fix_first(
    names: pa.Array, industry: np.ndarray, region: np.ndarray, rng: np.random.Generator
) -> pa.Array:
    """Give the key account (index 0) a group name that no one else can have."""
    city = _REGION_CITIES[int(region[0])][0]
    words = _INDUSTRY_WORDS[int(industry[0])]
    word = words[int(rng.integers(0, len(words)))]
    first = f"{city}中联{word}控股集团股份有限公司"  # the only 控股 name: unique
    return pa.concat_arrays([pa.array([first]), names.slice(1)])


def _customer_ids(n: int) -> pa.Array:
    width = max(6, len(str(n)))
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), width, "0")
    return pc.binary_join_element_wise("C", digits, "")


def _customer_table(people: _People, ids: pa.Array) -> pa.Table:
    def label(values: Sequence[str], codes: np.ndarray) -> pa.Array:
        return pa.array(list(values)).take(pa.array(codes))

    prospects = people.status == _PROSPECT
    days = np.arange(people.close_day.min(), people.close_day.max() + 1)
    iso = [str(_EPOCH + timedelta(days=int(d))) for d in days]
    close = pa.array(iso).take(pa.array(people.close_day - days[0]))
    close = pc.if_else(pa.array(prospects), close, pa.scalar(None, pa.string()))
    columns = [
        ids,
        people.names,
        label(_INDUSTRIES, people.industry),
        label(_SIZES, people.scale),
        label(_NATURES, people.nature),
        label(_MODES, people.mode),
        label(_NEEDS, people.needs),
        label(_INFLUENCE, people.influence),
        label(_RELATIONS, people.relation),
        label(_CREDIT, people.credit),
        label(_REGIONS, people.region),
        label(people.managers, people.manager),
        label(_STATUSES, people.status.astype(np.int64)),
        close,
    ]
    return pa.table(columns, names=list(CUSTOMER_COLUMNS))


# ---------------------------------------------------------------------------------------
# Transactions
# ---------------------------------------------------------------------------------------


@dataclass
class _Ledger:
    customer: np.ndarray  # int32 customer position, sorted with day
    day: np.ndarray  # int32 days since epoch
    amount: np.ndarray  # int64 cents
    cost: np.ndarray  # int64 cents
    is_return: np.ndarray  # bool


_EPOCH = date(1970, 1, 1)


def _days(d: date) -> int:
    return (d - _EPOCH).days


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    last = (next_first - timedelta(days=1)).day
    return date(year, month, min(d.day, last))


def _make_transactions(
    rng: np.random.Generator, people: _People, start: date, end: date
) -> _Ledger:
    n = people.n
    status = people.status
    d0, d1 = _days(start), _days(end)
    span = d1 - d0 + 1
    dormant_cutoff = _days(_add_months(end, -6)) - 7  # last dormant order: before this

    # Each buying customer orders within a window [lo, hi] of days.
    lo = np.full(n, d0, dtype=np.int64)
    hi = np.full(n, d1, dtype=np.int64)
    active = status == _ACTIVE
    new = active & (rng.random(n) < 0.25)  # acquired during the period
    new[0] = False
    lo[new] = rng.integers(d0, d1 - 90, int(new.sum()))
    dormant = status == _DORMANT
    k = int(dormant.sum())
    hi[dormant] = rng.integers(min(d0 + 60, dormant_cutoff), dormant_cutoff + 1, k)
    later_start = rng.random(k) < 0.2
    lo_d = d0 + (rng.random(k) * (hi[dormant] - d0) * 0.5).astype(np.int64)
    lo[dormant] = np.where(later_start, lo_d, d0)

    # Trend within the window: linear density 1 + g(2u - 1), g > 0 growing.
    kind = _categorical(rng, (0.6, 0.2, 0.2), n)
    trend = np.select(
        [kind == 1, kind == 2],
        [rng.uniform(0.4, 0.95, n), rng.uniform(-0.95, -0.4, n)],
        rng.normal(0.0, 0.15, n),
    ).clip(-0.95, 0.95)
    trend[dormant] = -np.abs(trend[dormant])  # dormant customers faded out
    trend[0] = 0.3

    # Order counts: 1 + negative binomial, mean ∝ window length × size**a.
    buyers = status != _PROSPECT
    buyers[0] = False
    weight = np.where(buyers, (hi - lo + 1) / span * people.size**_FREQ_ELASTICITY, 0.0)
    years = span / 365.25
    big_mean = _BIG_ORDERS * years / 3
    big_orders = max(12, int(rng.negative_binomial(20, 20 / (20 + big_mean))))
    target = max(_ORDERS_PER_CUSTOMER * years / 3 * n - big_orders, float(buyers.sum()))
    mean = weight * (target / weight.sum()) if weight.sum() > 0 else weight
    extra_mean = np.maximum(mean - 1.0, 1e-9)
    counts = 1 + rng.negative_binomial(_NB_SHAPE, _NB_SHAPE / (_NB_SHAPE + extra_mean))
    counts = np.where(buyers, counts, 0)
    counts[0] = big_orders

    total = int(counts.sum())
    customer = np.repeat(np.arange(n, dtype=np.int32), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    first = np.zeros(total, dtype=bool)
    first[starts[counts > 0]] = True

    # Dates: inverse CDF of the tilted density, mapped into each customer's window.
    g = trend[customer]
    p = rng.random(total)
    u = 2 * p / ((1 - g) + np.sqrt((1 - g) ** 2 + 4 * g * p))
    del g, p
    width = (hi - lo + 1)[customer]
    day = lo[customer] + np.minimum((u * width).astype(np.int64), width - 1)
    del u, width
    # An active customer has ordered in the last six months: where none of its orders
    # fell there, its first row is moved there.
    last = np.zeros(n, dtype=np.int64)
    if total:
        last[counts > 0] = np.maximum.reduceat(day, starts[counts > 0])
    recent_from = d1 - 180
    stale = active & (counts > 0) & (last < recent_from)
    rows = starts[stale]
    row_lo = np.maximum(lo[stale], recent_from)
    day[rows] = row_lo + (rng.random(len(rows)) * (d1 - row_lo + 1)).astype(np.int64)
    del last, stale, rows, row_lo

    # Amounts: typical order size ∝ size**(1 - a), lognormal noise; returns ~3%.
    typical = _TYPICAL_ORDER * people.size ** (1 - _FREQ_ELASTICITY)
    multi = (counts >= 2)[customer]
    rate = _RETURN_SHARE * total / max(1, int((multi & ~first).sum()))
    is_return = multi & ~first & (rng.random(total) < rate)
    del multi, first
    # A return comes after the customer's first sale (the first row is always a sale).
    if total:
        first_sale = np.minimum.reduceat(np.where(is_return, d1, day), starts[counts > 0])
        first_sale_of_row = np.repeat(first_sale, counts[counts > 0])
        day[is_return] = np.maximum(day[is_return], first_sale_of_row[is_return])
        del first_sale, first_sale_of_row
    sale = typical[customer] * rng.lognormal(0.0, 0.45, total)
    back = -typical[customer] * rng.uniform(0.05, 0.6, total)
    amount = np.where(
        is_return, np.minimum(np.rint(back * 100), -100), np.maximum(np.rint(sale * 100), 100)
    ).astype(np.int64)
    del sale, back

    # The key account: scale its orders so that it holds its share of the revenue. No
    # other customer may come near it (only matters for small demos): those above
    # _OTHER_SHARE_CAP of the revenue are scaled down first.
    share = rng.uniform(*_BIG_SHARE)
    n_big = int(counts[0])
    revenue = np.bincount(customer, weights=amount, minlength=n)
    revenue[0] = 0.0
    cap = _OTHER_SHARE_CAP * revenue.sum() / (1 - share)
    over = revenue > cap
    if over.any():
        shrink = np.where(over, cap / np.where(over, revenue, 1.0), 1.0)[customer]
        scaled = np.rint(amount * shrink)
        amount = np.where(is_return, np.minimum(scaled, -100), np.maximum(scaled, 100)).astype(
            np.int64
        )
        del shrink, scaled
    del revenue, over
    others = int(amount[n_big:].sum())
    mine = int(amount[:n_big].sum())
    if others > 0 and mine > 0:
        factor = share / (1 - share) * others / mine
        amount[:n_big] = np.rint(amount[:n_big] * factor).astype(np.int64)

    # Cost: amount × (1 - margin) with a little noise per order; returns reverse cost.
    ratio = 1 - people.margin[customer] + rng.normal(0.0, 0.02, total)
    cost = np.rint(amount * np.maximum(ratio, 0.0)).astype(np.int64)
    del ratio

    key = day * np.int64(n) + customer
    order = np.argsort(key, kind="stable")
    return _Ledger(
        customer=customer[order],
        day=day[order].astype(np.int32),
        amount=amount[order],
        cost=cost[order],
        is_return=is_return[order],
    )


def _transaction_table(ledger: _Ledger, ids: pa.Array, start: date, end: date) -> pa.Table:
    d0 = _days(start)
    total = len(ledger.day)
    # Per-day sequence numbers (rows are sorted by day).
    first_of_day = np.searchsorted(ledger.day, ledger.day, side="left")
    seq = np.arange(1, total + 1, dtype=np.int64) - first_of_day
    seq_width = max(4, len(str(int(seq.max())))) if total else 4
    day_index = pa.array(ledger.day.astype(np.int64) - d0)
    all_days = [_EPOCH + timedelta(days=d) for d in range(d0, _days(end) + 1)]
    compact = pa.array([d.strftime("%Y%m%d") for d in all_days])
    prefix = pc.if_else(pa.array(ledger.is_return), "TH", "XS")
    numbers = pc.binary_join_element_wise(
        prefix,
        compact.take(day_index),
        "-",
        pc.utf8_lpad(pc.cast(pa.array(seq), pa.string()), seq_width, "0"),
        "",
    )
    del seq, first_of_day
    return pa.table(
        [
            numbers,
            ids.take(pa.array(ledger.customer)),
            pa.array(ledger.day).cast(pa.date32()),
            pa.array(ledger.amount),
            pa.array(ledger.cost),
            _TYPES_ARR.take(pa.array(ledger.is_return.astype(np.int8))),
        ],
        names=list(TRANSACTION_COLUMNS),
    )


_TYPES_ARR = pa.array(list(_TYPES))

# ---------------------------------------------------------------------------------------
# Payments
# ---------------------------------------------------------------------------------------

_PAYER_P = (0.78, 0.14, 0.08)  # pays in full / pays slowly / pays part
_PROMPT, _SLOW, _PARTIAL = 0, 1, 2


@dataclass
class _Payments:
    customer: np.ndarray  # int32 customer position, sorted with day
    day: np.ndarray  # int32 days since epoch
    amount: np.ndarray  # int64 cents, positive


def _make_payments(rng: np.random.Generator, ledger: _Ledger, n: int, end: date) -> _Payments:
    """One payment per sale, after a delay that depends on the customer's habit; a return
    is deducted from the customer's next sale; payments after ``end`` are not made."""
    habit = _categorical(rng, _PAYER_P, n)
    if n:
        habit[0] = _PROMPT  # the key account pays on time
    # the ledger by customer, then day (stable: the same day keeps the ledger's order)
    order = np.lexsort((ledger.day, ledger.customer))
    customer = ledger.customer[order].astype(np.int64)
    day = ledger.day[order].astype(np.int64)
    amount = ledger.amount[order]
    is_return = ledger.is_return[order]
    total = len(day)
    # each return goes to the customer's next sale (the nearest sale row after it)
    big = np.int64(total)
    own = np.where(is_return, big, np.arange(total, dtype=np.int64))
    next_sale = np.minimum.accumulate(own[::-1])[::-1] if total else own
    due = np.where(is_return, 0, amount).astype(np.int64)
    netted = is_return & (next_sale < big)
    netted[netted] &= customer[next_sale[netted]] == customer[netted]
    np.add.at(due, next_sale[netted], amount[netted])
    due = np.maximum(due, 0)

    kind = habit[customer]
    delay = np.select(
        [kind == _SLOW, kind == _PARTIAL],
        [60 + rng.gamma(2.0, 40.0, total), 30 + rng.gamma(2.0, 15.0, total)],
        14 + rng.gamma(2.0, 10.0, total),
    ).astype(np.int64)
    share = np.where(kind == _PARTIAL, rng.uniform(0.4, 0.9, total), 1.0)
    paid = np.rint(due * share).astype(np.int64)
    when = day + delay
    keep = ~is_return & (paid > 0) & (when <= _days(end))
    key = when[keep] * np.int64(max(n, 1)) + customer[keep]
    sort = np.argsort(key, kind="stable")
    return _Payments(
        customer=customer[keep][sort].astype(np.int32),
        day=when[keep][sort].astype(np.int32),
        amount=paid[keep][sort],
    )


def _payment_table(payments: _Payments, ids: pa.Array, start: date, end: date) -> pa.Table:
    d0 = _days(start)
    total = len(payments.day)
    first_of_day = np.searchsorted(payments.day, payments.day, side="left")
    seq = np.arange(1, total + 1, dtype=np.int64) - first_of_day
    seq_width = max(4, len(str(int(seq.max())))) if total else 4
    all_days = [_EPOCH + timedelta(days=d) for d in range(d0, _days(end) + 1)]
    compact = pa.array([d.strftime("%Y%m%d") for d in all_days])
    numbers = pc.binary_join_element_wise(
        "HK",
        compact.take(pa.array(payments.day.astype(np.int64) - d0)),
        "-",
        pc.utf8_lpad(pc.cast(pa.array(seq), pa.string()), seq_width, "0"),
        "",
    )
    return pa.table(
        [
            numbers,
            ids.take(pa.array(payments.customer)),
            pa.array(payments.day).cast(pa.date32()),
            pa.array(payments.amount),
        ],
        names=list(PAYMENT_COLUMNS),
    )


def _transactions_for_parquet(table: pa.Table, names=("金额", "成本")) -> pa.Table:
    """金额 and 成本 (or ``names``) from integer cents to float64 yuan."""
    for name in names:
        cents = table.column(name).to_numpy()
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, pa.array(cents / 100.0))
    return table


def _transactions_for_csv(table: pa.Table, names=("金额", "成本")) -> pa.Table:
    """金额 and 成本 (or ``names``) from integer cents to text with exactly two decimals."""
    for name in names:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, _cents_text(table.column(name).to_numpy()))
    return table


def _cents_text(cents: np.ndarray) -> pa.Array:
    magnitude = np.abs(cents)
    whole = pc.cast(pa.array(magnitude // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(magnitude % 100), pa.string()), 2, "0")
    sign = pc.if_else(pa.array(cents < 0), "-", "")
    return pc.binary_join_element_wise(sign, whole, ".", frac, "")


# ---------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place on success."""
    # Not mkstemp: its 0600 mode would stick to the final file; the writers create the
    # file themselves, so it gets the usual umask-derived permissions.
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_parquet(table: pa.Table, path: Path) -> None:
    with _atomic(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def _write_csv(table: pa.Table, path: Path) -> None:
    """UTF-8 with BOM (so Excel opens Chinese text right), unquoted header and values."""
    with _atomic(path) as tmp, open(tmp, "wb") as f:
        f.write(_BOM)
        f.write((",".join(table.column_names) + "\n").encode("utf-8"))
        pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def _write_xlsx(table: pa.Table, path: Path, progress: Callable[[float], None]) -> None:
    import xlsxwriter

    widths = {"客户名称": 36, "客户编号": 11, "预计成交日期": 13}
    with _atomic(path) as tmp:
        workbook = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
        try:
            sheet = workbook.add_worksheet("客户")
            bold = workbook.add_format({"bold": True})
            for col, name in enumerate(table.column_names):
                sheet.set_column(col, col, widths.get(name, 9))
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, table.num_rows, table.num_columns - 1)
            sheet.write_row(0, 0, table.column_names, bold)
            row = 1
            chunk = 50_000
            n_chunks = max(1, -(-table.num_rows // chunk))
            for i, batch in enumerate(table.to_batches(max_chunksize=chunk)):
                columns = [c.to_pylist() for c in batch.columns]
                for values in zip(*columns, strict=True):
                    for col, value in enumerate(values):
                        if value is not None:
                            sheet.write_string(row, col, value)
                    row += 1
                if (i + 1) % max(1, n_chunks // 5) == 0:
                    progress((i + 1) / n_chunks)
        finally:
            workbook.close()
