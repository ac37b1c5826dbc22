from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tiering_web.customers.domain import CODE_MAX_LENGTH


class Status(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    DORMANT = "dormant", _("Dormant")
    BLACKLISTED = "blacklisted", _("Blacklisted")


class Size(models.TextChoices):
    LARGE = "large", _("Large enterprise")
    SME = "sme", _("Small or medium enterprise")


class Nature(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    ENTERPRISE = "enterprise", _("Enterprise")
    PARTNER = "partner", _("Partner")


class NeedsType(models.TextChoices):
    PRODUCT = "product", _("Product-focused")
    SERVICE = "service", _("Service-focused")
    COMPREHENSIVE = "comprehensive", _("Comprehensive")


class Complexity(models.TextChoices):
    SIMPLE = "simple", _("Simple")
    MEDIUM = "medium", pgettext_lazy("complexity", "Medium")
    COMPLEX = "complex", _("Complex")


class Influence(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", pgettext_lazy("influence", "Medium")
    LOW = "low", _("Low")


class Closeness(models.TextChoices):
    CLOSE = "close", _("Close")
    NORMAL = "normal", _("Normal")
    LOOSE = "loose", _("Loose")


#: The classification attributes the engine sees as customer columns (see
#: :mod:`tiering_web.evaluations.adapters`).
ATTRIBUTES = (
    "industry",
    "size",
    "nature",
    "business_mode",
    "needs_type",
    "complexity",
    "influence",
    "closeness",
    "credit_rating",
    "price_coefficient",
    "status",
    "expected_close",
)


class CustomerQuerySet(models.QuerySet):
    def active(self) -> "CustomerQuerySet":
        """The customers not deactivated: the ones lists, evaluations, messages and tasks
        work on."""
        return self.filter(deactivated_at__isnull=True)

    def deactivated(self) -> "CustomerQuerySet":
        return self.filter(deactivated_at__isnull=False)


class Customer(models.Model):
    """A customer or prospect: who they are (classification), who owns them, and the
    commercial terms we keep for them. Grades live in evaluations and tier assignments,
    never here, so that they keep their history.

    A customer is never deleted (its history is protected): one the company no longer
    serves (closed down, merged into another, created by mistake) is *deactivated*
    (:func:`.services.do_deactivate_customer`): ``deactivated_at`` is set, the lists hide
    it, evaluations, messages and revisit tasks skip it and its tiers end; reactivating it
    brings the tiers back. ``status`` (prospect, dormant, blacklisted...) is something
    else: a fact about the customer that rules may grade on."""

    code = models.CharField(_("customer code"), max_length=CODE_MAX_LENGTH, unique=True)
    name = models.CharField(_("name"), max_length=200)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(_("enterprise size"), max_length=20, choices=Size.choices, blank=True)
    nature = models.CharField(_("nature"), max_length=20, choices=Nature.choices, blank=True)
    business_mode = models.CharField(_("business mode"), max_length=100, blank=True)
    needs_type = models.CharField(
        _("needs type"), max_length=20, choices=NeedsType.choices, blank=True
    )
    complexity = models.CharField(
        _("business complexity"), max_length=20, choices=Complexity.choices, blank=True
    )
    influence = models.CharField(
        _("market influence"), max_length=20, choices=Influence.choices, blank=True
    )
    closeness = models.CharField(
        _("relationship closeness"), max_length=20, choices=Closeness.choices, blank=True
    )
    dimensions = models.JSONField(
        _("custom dimensions"), default=dict, blank=True, encoder=DjangoJSONEncoder
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customers",
    )
    contacts = models.JSONField(
        _("contacts"),
        default=list,
        blank=True,
        help_text=_("A list of {name, title, phone, email}."),
    )
    credit_rating = models.CharField(_("credit rating"), max_length=20, blank=True)
    price_coefficient = models.DecimalField(
        _("price coefficient"),
        max_digits=6,
        decimal_places=3,
        default=Decimal("1.000"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    expected_close = models.DateField(_("expected close date"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last updated"), auto_now=True)
    deactivated_at = models.DateTimeField(_("deactivated at"), null=True, blank=True)
    deactivated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deactivated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # (a database default too: the bench's COPY and other bulk loaders name only the
    # columns they fill)
    deactivation_reason = models.TextField(
        _("reason for deactivation"), blank=True, default="", db_default=""
    )

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ("code",)
        indexes = [
            models.Index(fields=["owner", "code"], name="customer_owner_idx"),
            models.Index(fields=["status"], name="customer_status_idx"),
            models.Index(fields=["industry"], name="customer_industry_idx"),
            # the customer list's filters and sorts, in code order within each (see
            # migration 0002, which also adds PostgreSQL trigram indexes for the search)
            models.Index(fields=["name", "code"], name="customer_name_code_idx"),
            # an account manager's filtered list and its count read ids only (bench/web.py:
            # "account manager: tier A" 418 -> ~70 ms p95)
            # (of the active customers: the lists' default filter, so still ids only)
            models.Index(
                fields=["owner", "id"],
                condition=models.Q(deactivated_at__isnull=True),
                name="customer_owner_id_idx",
            ),
            # filters combining industry and status read ids only (tier B + 物流 + active:
            # 200 -> 34 ms)
            models.Index(
                fields=["industry", "status", "id"],
                condition=models.Q(deactivated_at__isnull=True),
                name="customer_ind_status_idx",
            ),
            models.Index(fields=["industry", "code"], name="customer_industry_code_idx"),
            models.Index(fields=["status", "code"], name="customer_status_code_idx"),
            models.Index(fields=["-industry", "code"], name="customer_industry_desc_idx"),
            models.Index(fields=["-status", "code"], name="customer_status_desc_idx"),
            # the few deactivated customers, found without reading the million others
            # (publishing and withdrawing end their tiers again, see evaluations.storage)
            models.Index(
                fields=["deactivated_at"],
                condition=models.Q(deactivated_at__isnull=False),
                name="customer_deactivated_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None


class Transaction(models.Model):
    """An order or a return. ``amount`` and ``cost`` are always positive here; a return
    counts negatively when the engine reads it. Written through
    :mod:`tiering_web.customers.ledger`; a reference names at most one transaction of its
    customer."""

    class Kind(models.TextChoices):
        ORDER = "order", _("Order")
        RETURN = "return", _("Return")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="transactions"
    )
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    cost = models.DecimalField(_("cost"), max_digits=18, decimal_places=2, default=Decimal("0"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.ORDER)
    reference = models.CharField(_("reference"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ("customer", "date", "id")
        indexes = [models.Index(fields=["customer", "date"], name="transaction_customer_date_idx")]
        constraints = [
            # a reference names one transaction of its customer (tiering_web.customers.ledger)
            models.UniqueConstraint(
                fields=["customer", "reference"],
                condition=~models.Q(reference=""),
                name="transaction_one_per_reference",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.date} {self.kind} {self.amount}"


class Payment(models.Model):
    """Money received from a customer (回款). Written through
    :mod:`tiering_web.customers.ledger`; a reference names at most one payment of its
    customer."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="payments"
    )
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    reference = models.CharField(_("reference"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ("customer", "date", "id")
        indexes = [models.Index(fields=["customer", "date"], name="payment_customer_date_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "reference"],
                condition=~models.Q(reference=""),
                name="payment_one_per_reference",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.date} {self.amount}"
