"""Our fields per kind of file (customers, transactions, payments): the headers and the
values recognised for them, which are required, which are dates or amounts, how long a
text may be."""

from __future__ import annotations

from tiering import data
from tiering_web.customers import domain as customer_domain
from tiering_web.customers import models as cm
from tiering_web.customers.models import Transaction
from tiering_web.imports.models import ImportJob

CUSTOMERS = ImportJob.Kind.CUSTOMERS.value
TRANSACTIONS = ImportJob.Kind.TRANSACTIONS.value
PAYMENTS = ImportJob.Kind.PAYMENTS.value

#: Our fields per kind of file, each with the headers recognised for it (after our own
#: name; compared without case, ``_`` read as a space). The first one is the export header.
FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    CUSTOMERS: {
        "code": ("客户编号", "客户代码", *data.SYNONYMS["customer_id"], "customer code"),
        "name": ("客户名称", "名称", "客户名", "customer name", "company"),
        "industry": ("行业", "所属行业"),
        "size": ("规模", "企业规模", "enterprise size"),
        "nature": ("性质", "客户性质"),
        "business_mode": ("业务模式", "business mode"),
        "needs_type": ("需求类型", "needs type"),
        "complexity": ("复杂度", "业务复杂度", "business complexity"),
        "influence": ("影响力", "市场影响力", "market influence"),
        "closeness": ("关系紧密度", "关系", "紧密度", "relationship closeness"),
        "owner": ("客户经理", "负责人", "account manager"),
        "credit_rating": ("资信等级", "信用等级", "credit rating"),
        "price_coefficient": ("单价系数", "价格系数", "price coefficient"),
        "status": ("状态", "客户状态"),
        "expected_close": ("预计成交日期", "预计成交", "expected close date", "expected close"),
        "notes": ("备注", "说明", "note"),
    },
    TRANSACTIONS: {
        "customer_code": (*data.SYNONYMS["customer_id"], "code", "customer code"),
        "date": (*data.SYNONYMS["date"], "date"),
        "amount": data.SYNONYMS["amount"],
        "cost": data.SYNONYMS["cost"],
        "kind": ("类型", "交易类型", "单据类型", "type"),
        "reference": ("单号", "订单号", "单据编号", "单据号", "ref"),
    },
    PAYMENTS: {
        "customer_code": (*data.SYNONYMS["customer_id"], "code", "customer code"),
        "date": (*data.PAYMENT_SYNONYMS["date"], "date"),
        "amount": data.PAYMENT_SYNONYMS["amount"],
        "reference": ("回款单号", "收款单号", "单号", "单据编号", "单据号", "ref"),
    },
}
REQUIRED = {
    CUSTOMERS: ("code",),
    TRANSACTIONS: ("customer_code", "date", "amount"),
    PAYMENTS: ("customer_code", "date", "amount"),
}
DATE_FIELDS = {"expected_close", "date"}
MONEY_FIELDS = {"amount", "cost"}

#: Values of the choice fields as people write them, besides our own value.
_ALIASES: dict[str, dict[str, str]] = {
    # the engine's demo company (and many ERPs) write 大型/中型/小型/微型
    "size": {"大型": "large", "大型企业": "large", "大企业": "large", "中小": "sme",
             "中小企业": "sme", "中小型": "sme", "中小型企业": "sme", "中型": "sme",
             "小型": "sme", "微型": "sme", "中型企业": "sme", "小型企业": "sme",
             "微型企业": "sme"},
    "nature": {"个人": "individual", "企业": "enterprise", "公司": "enterprise",
               "合作伙伴": "partner", "伙伴": "partner", "渠道": "partner"},
    "needs_type": {"产品": "product", "产品型": "product", "服务": "service",
                   "服务型": "service", "综合": "comprehensive", "综合型": "comprehensive"},
    "complexity": {"简单": "simple", "中等": "medium", "一般": "medium", "复杂": "complex"},
    "influence": {"高": "high", "中": "medium", "中等": "medium", "一般": "medium", "低": "low"},
    "closeness": {"紧密": "close", "密切": "close", "一般": "normal", "普通": "normal",
                  "松散": "loose", "疏远": "loose"},
    "status": {"潜在": "prospect", "潜在客户": "prospect", "活跃": "active",
               "沉默": "dormant", "休眠": "dormant", "黑名单": "blacklisted"},
}  # fmt: skip
_CHOICES = {
    "size": cm.Size,
    "nature": cm.Nature,
    "needs_type": cm.NeedsType,
    "complexity": cm.Complexity,
    "influence": cm.Influence,
    "closeness": cm.Closeness,
    "status": cm.Status,
}
_KINDS = {
    "order": Transaction.Kind.ORDER,
    "sale": Transaction.Kind.ORDER,
    "销售": Transaction.Kind.ORDER,
    "销售单": Transaction.Kind.ORDER,
    "订单": Transaction.Kind.ORDER,
    "return": Transaction.Kind.RETURN,
    "退货": Transaction.Kind.RETURN,
    "退货单": Transaction.Kind.RETURN,
    "退款": Transaction.Kind.RETURN,
}
_TEXT_LIMITS = {
    "code": customer_domain.CODE_MAX_LENGTH,
    "name": 200,
    "industry": 100,
    "business_mode": 100,
    "credit_rating": 20,
    "customer_code": 64,
    "reference": 100,
}


def _check_kind(kind: str) -> None:
    if kind not in FIELDS:
        raise ValueError(f"unknown import kind {kind!r}: use one of {', '.join(FIELDS)}")
