"""Notifications: queue messages for what happened (a publication, an evaluation ahead,
an alert), and the audited writes of the notification settings.

Queuing renders each message completely in its recipient's language and stores it with
an idempotency key naming the event and the recipient (``tier:<evaluation>:<customer>:
<channel>``...), inserted with ``ON CONFLICT DO NOTHING``: queuing the same event twice
(a signal delivered again, a command run twice) adds nothing. Sending is the worker's
job (:mod:`.sending`, :mod:`.tasks`).

Customer messages go only for the primary rule set (the grade customers are told), to
the first contact with an e-mail (e-mail) and the first with a phone (SMS, through the
active webhook endpoint for SMS), in the customer's language, never on a channel they
opted out of (checked again just before sending). Staff messages (digests, alerts) go
to the user's e-mail in the site's language (``LANGUAGE_CODE``).

Every write of a template, endpoint, preference or retry goes through a ``do_*``
function that records who did it and why (:func:`tiering_web.audit.services.record`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections, models, transaction
from django.utils import timezone, translation
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from tiering_web.accounts.models import Role
from tiering_web.audit.services import record
from tiering_web.customers.models import Customer
from tiering_web.dashboard.templatetags.tiering_format import money
from tiering_web.evaluations.models import Evaluation, EvaluationResult, Schedule
from tiering_web.notifications import wording
from tiering_web.notifications.models import (
    EVENTS,
    Channel,
    Kind,
    Language,
    Message,
    MessageTemplate,
    Preference,
    WebhookEndpoint,
)
from tiering_web.policies.services import policies_in_force, tier_names
from tiering_web.rulesets.models import RuleSet, RuleSetVersion

logger = logging.getLogger(__name__)


@dataclass
class Queued:
    """What a queuing call did: messages newly queued, those already there (same key),
    and recipients skipped, with why (``no e-mail``, ``opted out``...)."""

    queued: int = 0
    existing: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, other: Queued) -> None:
        self.queued += other.queued
        self.existing += other.existing
        self.skipped += other.skipped


# --- helpers ----------------------------------------------------------------------------


def staff_language() -> str:
    return Language.ZH if settings.LANGUAGE_CODE.lower().startswith("zh") else Language.EN


def preference_of(customer: Customer) -> Preference:
    """The customer's saved preference, or the default one (unsaved)."""
    try:
        return customer.notification_preference
    except Preference.DoesNotExist:
        return Preference(customer=customer)


def addresses(customer: Customer) -> dict[str, tuple[str, str]]:
    """channel → (address, contact name): the first contact with an e-mail, the first
    with a phone."""
    found: dict[str, tuple[str, str]] = {}
    for contact in customer.contacts or []:
        if not isinstance(contact, dict):
            continue
        name = str(contact.get("name") or "").strip()
        email = str(contact.get("email") or "").strip()
        phone = str(contact.get("phone") or "").strip()
        if email and Channel.EMAIL not in found:
            found[Channel.EMAIL] = (email, name)
        if phone and Channel.SMS not in found:
            found[Channel.SMS] = (phone, name)
    return found


def sms_endpoint() -> WebhookEndpoint | None:
    return (
        WebhookEndpoint.objects.filter(purpose=WebhookEndpoint.Purpose.SMS, active=True)
        .order_by("id")
        .first()
    )


def _number(value: Any) -> str:
    value = Decimal(value)
    if value == value.to_integral_value():
        return number_format(int(value), 0, use_l10n=True, force_grouping=True)
    return number_format(value.normalize(), use_l10n=True, force_grouping=True)


def terms_of(policy) -> list[str]:
    """A tier policy's commercial terms and service level as sentences, in the active
    language."""
    if policy is None:
        return []
    terms = []
    if policy.discount_percent is not None:
        terms.append(_("Discount: %(pct)s%%") % {"pct": _number(policy.discount_percent)})
    if policy.price_coefficient is not None:
        terms.append(
            _("Price coefficient: %(value)s") % {"value": _number(policy.price_coefficient)}
        )
    if policy.payment_terms_days is not None:
        terms.append(_("Payment terms: %(days)s days") % {"days": policy.payment_terms_days})
    if policy.credit_limit is not None:
        terms.append(_("Credit limit: %(amount)s") % {"amount": money(policy.credit_limit)})
    if policy.delivery_lead_days is not None:
        terms.append(_("Delivery within %(days)s days") % {"days": policy.delivery_lead_days})
    if policy.dedicated_manager:
        terms.append(_("A dedicated account manager"))
    elif policy.service_team:
        terms.append(_("Served by: %(team)s") % {"team": policy.service_team})
    if policy.revisit_days:
        terms.append(_("A visit or call every %(days)s days") % {"days": policy.revisit_days})
    if policy.answer_seconds:
        if policy.answer_share is not None:
            terms.append(
                _("Calls answered within %(seconds)s s (%(pct)s%% of calls)")
                % {
                    "seconds": policy.answer_seconds,
                    "pct": _number(policy.answer_share * 100),
                }
            )
        else:
            terms.append(
                _("Calls answered within %(seconds)s s") % {"seconds": policy.answer_seconds}
            )
    return terms


def benefits_of(policy, language: str) -> list[str]:
    if policy is None:
        return []
    key = "zh" if language.startswith("zh") else "en"
    other = "en" if key == "zh" else "zh"
    return [
        str(b.get(key) or b.get(other) or b.get("code"))
        for b in policy.benefits or []
        if isinstance(b, dict)
    ]


def _insert(messages: list[Message]) -> Queued:
    """Insert ``messages``, leaving out those whose key is already queued."""
    outcome = Queued()
    if not messages:
        return outcome
    keys = [m.idempotency_key for m in messages]
    before = set(
        Message.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )
    fresh = [m for m in messages if m.idempotency_key not in before]
    Message.objects.bulk_create(fresh, ignore_conflicts=True, batch_size=500)
    after = Message.objects.filter(idempotency_key__in=[m.idempotency_key for m in fresh]).count()
    outcome.queued = after
    outcome.existing = len(messages) - after
    return outcome


def enqueue_sending() -> None:
    """Ask the worker to send what is due, once the current transaction commits."""
    from tiering_web.notifications.tasks import send_due_messages

    transaction.on_commit(send_due_messages.enqueue)


def _customer_messages(
    kind: str,
    key: str,
    customer: Customer,
    context: dict[str, Any],
    texts: wording.Wording,
    endpoint: WebhookEndpoint | None,
    outcome: Queued,
    status: str = Message.Status.PENDING,
    **related,
) -> list[Message]:
    """The e-mail and SMS of one event to one customer, in their language, skipping the
    channels they opted out of or have no address for. ``key`` gets the channel added."""
    preference = preference_of(customer)
    language = preference.language
    found = addresses(customer)
    made = []
    now = timezone.now()
    for channel in (Channel.EMAIL, Channel.SMS):
        if channel not in found:
            outcome.skipped.append((customer.code, f"{channel}: no address"))
            continue
        if preference.opted_out(channel):
            outcome.skipped.append((customer.code, f"{channel}: opted out"))
            continue
        if channel == Channel.SMS and endpoint is None:
            outcome.skipped.append((customer.code, "sms: no SMS webhook endpoint"))
            continue
        address, contact = found[channel]
        with translation.override(language):
            subject, body = texts.render(
                kind, language, channel, {**context, "contact_name": contact}
            )
        made.append(
            Message(
                idempotency_key=f"{key}:{channel}",
                kind=kind,
                channel=channel,
                endpoint=endpoint if channel == Channel.SMS else None,
                recipient=address,
                language=language,
                subject=subject,
                body=body,
                next_attempt_at=now,
                customer=customer,
                status=status,
                **related,
            )
        )
    return made


# --- a publication: customers whose tier changed, and their account managers' digest ----


def holds_customer_messages() -> bool:
    """Whether a publication's messages to customers wait for a manager's release
    (``TIERING_HOLD_CUSTOMER_MESSAGES``, on unless switched off)."""
    return bool(getattr(settings, "TIERING_HOLD_CUSTOMER_MESSAGES", True))


def _changed_results(evaluation: Evaluation):
    """The results of ``evaluation`` whose tier went up or down, of customers still
    served (deactivated since the evaluation ran: no tier, no message), by code."""
    return (
        EvaluationResult.objects.filter(
            evaluation=evaluation,
            change__in=["up", "down"],
            customer__deactivated_at__isnull=True,
        )
        .select_related("customer__owner", "customer__notification_preference")
        .order_by("customer__code")
    )


def _tier_context(evaluation: Evaluation, result: EvaluationResult, policies, language: str):
    """What a tier-change message to ``result``'s customer says, in ``language``."""
    customer = result.customer
    policy = policies.get(result.tier)
    with translation.override(language):
        return {
            "customer_code": customer.code,
            "customer_name": customer.name,
            "old_tier": result.previous_tier,
            "new_tier": result.tier,
            "as_of": date_format(evaluation.as_of, "DATE_FORMAT"),
            "benefits": benefits_of(policy, language),
            "terms": terms_of(policy),
        }


def _publication_policies(evaluation: Evaluation):
    return policies_in_force(evaluation.ruleset, max(evaluation.as_of, timezone.localdate()))


def queue_publication(evaluation: Evaluation) -> Queued:
    """The messages of a published evaluation of the primary rule set: one per customer
    whose tier went up or down (per channel), one digest per account manager of those
    customers. Nothing for another rule set, or an evaluation that is not published.

    The customers' messages are queued ``held`` ("to send") while
    :func:`holds_customer_messages`: a manager reads them in the outbox and releases
    (:func:`do_release_messages`) or cancels (:func:`do_cancel_messages`) them. The
    account managers' digests go at once."""
    outcome = Queued()
    evaluation = Evaluation.objects.select_related("ruleset_version__ruleset").get(pk=evaluation.pk)
    ruleset = evaluation.ruleset
    if evaluation.status != Evaluation.Status.PUBLISHED or not ruleset.is_primary:
        return outcome
    policies = _publication_policies(evaluation)
    endpoint = sms_endpoint()
    texts = wording.Wording()
    status = Message.Status.HELD if holds_customer_messages() else Message.Status.PENDING
    messages: list[Message] = []
    by_owner: dict[Any, list[EvaluationResult]] = defaultdict(list)
    for result in _changed_results(evaluation).iterator(chunk_size=1000):
        customer = result.customer
        language = preference_of(customer).language
        kind = Kind.TIER_UP if result.change == "up" else Kind.TIER_DOWN
        messages += _customer_messages(
            kind,
            f"tier:{evaluation.pk}:{customer.pk}",
            customer,
            _tier_context(evaluation, result, policies, language),
            texts,
            endpoint,
            outcome,
            status=status,
            evaluation=evaluation,
        )
        if customer.owner is not None:
            by_owner[customer.owner].append(result)
    messages += _digests(evaluation, by_owner, texts, outcome)
    with transaction.atomic():
        # withdrawing locks the evaluation too: the messages are queued before a
        # withdrawal (which then withdraws them) or not at all
        still = Evaluation.objects.select_for_update().filter(
            pk=evaluation.pk, status=Evaluation.Status.PUBLISHED
        )
        if not still.exists():
            return Queued()
        # what earlier publications would still tell customers is out of date now
        Message.objects.filter(
            status=Message.Status.HELD,
            evaluation__ruleset_version__ruleset=ruleset,
            evaluation__as_of__lte=evaluation.as_of,
        ).exclude(evaluation=evaluation).update(status=Message.Status.SUPERSEDED)
        outcome.add(_insert(messages))
        enqueue_sending()
    return outcome


@dataclass
class Preview:
    """What publishing an evaluation would tell its customers, before it is published:
    how many customers per change kind, whether the messages wait for a release, and each
    template rendered for one of those customers in each language and channel."""

    primary: bool
    held: bool
    customers: dict[str, int] = field(default_factory=dict)  # kind -> customers
    # (kind, language, channel, customer code, subject, body)
    samples: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)


def publication_preview(evaluation: Evaluation) -> Preview:
    """The messages publishing ``evaluation`` would queue for customers (see
    :func:`queue_publication`), previewed: the count of customers moving up and down (one
    query), and each template rendered for the first such customer by code, in Chinese and
    English, by e-mail and SMS (what each customer actually gets depends on their language,
    addresses and opt-outs)."""
    ruleset = evaluation.ruleset
    preview = Preview(primary=ruleset.is_primary, held=holds_customer_messages())
    if not ruleset.is_primary:
        return preview
    results = _changed_results(evaluation)
    grouped = results.order_by().values("change").annotate(n=models.Count("pk"))
    counts = {row["change"]: row["n"] for row in grouped}
    kinds = ((Kind.TIER_UP, "up"), (Kind.TIER_DOWN, "down"))
    preview.customers = {kind: counts.get(change, 0) for kind, change in kinds}
    policies = _publication_policies(evaluation)
    texts = wording.Wording()
    for kind, change in kinds:
        sample = results.filter(change=change).first()
        if sample is None:
            continue
        contacts = addresses(sample.customer)
        for language in Language.values:
            context = _tier_context(evaluation, sample, policies, language)
            for channel in wording.CHANNELS[kind]:
                contact = contacts.get(channel, ("", ""))[1]
                with translation.override(language):
                    subject, body = texts.render(
                        kind, language, channel, {**context, "contact_name": contact}
                    )
                preview.samples.append(
                    (kind, language, channel, sample.customer.code, subject, body)
                )
    return preview


def held_messages(evaluation: Evaluation):
    """The customer messages of ``evaluation``'s publication still waiting for release."""
    return Message.objects.filter(evaluation=evaluation, status=Message.Status.HELD)


def do_release_messages(actor, evaluation: Evaluation, reason: str = "") -> int:
    """Release the held messages of ``evaluation``'s publication to the worker: they
    become ``pending`` and go out at once. Only while the publication stands (a withdrawn
    one's messages were withdrawn with it); audited with how many. Returns how many."""
    with transaction.atomic():
        locked = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
        if locked.status != Evaluation.Status.PUBLISHED:
            raise ValidationError(
                _("Only the messages of a published evaluation can be released."),
                code="not_published",
            )
        released = held_messages(locked).update(
            status=Message.Status.PENDING, next_attempt_at=timezone.now()
        )
        if released:
            record(actor, "notifications.release", locked, reason, messages=released)
            enqueue_sending()
    return released


def do_cancel_messages(actor, evaluation: Evaluation, reason: str, ids=None) -> int:
    """Cancel held messages of ``evaluation``'s publication (all of them, or those whose
    ids are in ``ids``): they are never sent (status ``discarded``). A reason is required;
    audited with how many. Returns how many."""
    _reason(reason)
    with transaction.atomic():
        Evaluation.objects.select_for_update().get(pk=evaluation.pk)
        messages = held_messages(evaluation)
        if ids is not None:
            messages = messages.filter(pk__in=list(ids))
        cancelled = messages.update(status=Message.Status.DISCARDED)
        if cancelled:
            record(actor, "notifications.cancel", evaluation, reason, messages=cancelled)
    return cancelled


def withdraw_publication_messages(evaluation: Evaluation, actor=None) -> int:
    """Withdraw the messages of a withdrawn publication not sent yet (pending, or failed
    and waiting for a retry); called inside the withdrawal's transaction. One being sent
    at this moment, or already sent, is not recalled. Returns how many."""
    withdrawn = _stop_unsent(
        Message.objects.filter(evaluation=evaluation), Message.Status.WITHDRAWN
    )
    if withdrawn:
        record(actor, "notifications.withdraw", evaluation, "", messages=withdrawn)
    return withdrawn


def hold_messages_of(customer: Customer) -> int:
    """Hold back the messages to ``customer`` not sent yet (pending, or failed and
    waiting for a retry), marked ``inactive``: called inside its deactivation's
    transaction, which writes the audit entry. Returns how many."""
    return _stop_unsent(Message.objects.filter(customer=customer), Message.Status.INACTIVE)


def _stop_unsent(messages, status: str) -> int:
    """Give ``messages`` not sent yet (held, pending, or failed and waiting for a retry) the
    final ``status``, their claim cleared; one being sent at this moment is not recalled.
    Returns how many."""
    unsent = [Message.Status.HELD, Message.Status.PENDING, Message.Status.FAILED]
    return messages.filter(status__in=unsent).update(
        status=status, lease_until=None, claim_token=""
    )


def _digests(evaluation, by_owner, texts, outcome: Queued) -> list[Message]:
    language = staff_language()
    made = []
    now = timezone.now()
    for owner, results in sorted(by_owner.items(), key=lambda item: item[0].pk):
        if not owner.is_active:
            continue
        if not owner.email:
            outcome.skipped.append((owner.get_username(), "digest: no e-mail"))
            continue
        with translation.override(language):
            context = {
                "manager_name": owner.get_full_name() or owner.get_username(),
                "ruleset": evaluation.ruleset.name,
                "as_of": date_format(evaluation.as_of, "DATE_FORMAT"),
                "changes": [
                    {
                        "code": r.customer.code,
                        "name": r.customer.name,
                        "old_tier": r.previous_tier,
                        "new_tier": r.tier,
                        "change": r.change,
                    }
                    for r in results
                ],
                "ups": sum(r.change == "up" for r in results),
                "downs": sum(r.change == "down" for r in results),
            }
            subject, body = texts.render(Kind.DIGEST, language, Channel.EMAIL, context)
        made.append(
            Message(
                idempotency_key=f"digest:{evaluation.pk}:{owner.pk}",
                kind=Kind.DIGEST,
                channel=Channel.EMAIL,
                recipient=owner.email,
                recipient_user=owner,
                language=language,
                subject=subject,
                body=body,
                next_attempt_at=now,
                evaluation=evaluation,
            )
        )
    return made


# --- before a scheduled evaluation: customers about to drop ----------------------------


def _latest_approved(ruleset: RuleSet) -> RuleSetVersion | None:
    return (
        ruleset.versions.filter(status=RuleSetVersion.Status.APPROVED).order_by("-number").first()
    )


def gap_text(gap, unit: str) -> str:
    """The gap to the next tier with its unit, in the active language."""
    from tiering_web.dashboard.templatetags.tiering_format import measure, metric_label

    if gap is None:
        return ""
    return f"{measure(gap, unit)} {metric_label(unit)}".strip()


def queue_warnings(today: dt.date, days: int) -> list[tuple[Schedule, Queued]]:
    """Warn the customers who would drop at the primary rule set's scheduled evaluations
    due within ``days`` days of ``today``.

    The evaluation a schedule will run is computed now, on the current data, exactly as
    the scheduled run will compute it (the latest approved version, as of the end of the
    period before the run date, with the current tiers' downgrade protection and the
    overrides): a customer whose ``change`` comes out ``down`` is warned, with the gap to
    the next tier up from the one they would get (the tier they would keep when they drop
    one tier). Must not run inside a transaction (the engine reads through a second
    connection). Idempotent per schedule and period."""
    from tiering_web.evaluations.schedules import as_of_for
    from tiering_web.evaluations.services import _compute

    if connections["default"].in_atomic_block:
        raise RuntimeError("queue_warnings runs the engine: call it outside atomic()")
    done = []
    schedules = Schedule.objects.filter(
        active=True,
        ruleset__is_primary=True,
        next_run__gte=today,
        next_run__lte=today + dt.timedelta(days=days),
    ).select_related("ruleset")
    for schedule in schedules:
        version = _latest_approved(schedule.ruleset)
        if version is None:
            continue
        as_of = as_of_for(schedule.next_run, schedule.months)
        results = _compute(version, as_of, "en").table  # customer_id: the primary key
        if "change" not in results.column_names:  # no current tiers: nobody drops
            results = results.slice(0, 0).append_column("change", pa.array([], pa.string()))
        falling = results.filter(pc.equal(results["change"], "down")).to_pylist()
        down = {int(row["customer_id"]): row for row in falling}
        done.append((schedule, _queue_warnings(schedule, as_of, down)))
    return done


def _queue_warnings(schedule: Schedule, as_of: dt.date, down: dict[int, dict]) -> Queued:
    outcome = Queued()
    endpoint = sms_endpoint()
    texts = wording.Wording()
    messages: list[Message] = []
    customers = (
        Customer.objects.active()
        .filter(pk__in=list(down))
        .select_related("notification_preference")
    )
    for customer in customers.order_by("code"):
        row = down[customer.pk]
        language = preference_of(customer).language
        with translation.override(language):
            context = {
                "customer_code": customer.code,
                "customer_name": customer.name,
                "tier": row.get("previous_tier") or "",
                "would_be": row["tier"],
                "evaluation_date": date_format(schedule.next_run, "DATE_FORMAT"),
                "as_of": date_format(as_of, "DATE_FORMAT"),
                "keep_tier": row.get("next_tier") or "",
                "gap": gap_text(row.get("gap"), row.get("gap_unit") or ""),
            }
        messages += _customer_messages(
            Kind.WARNING,
            f"warning:{schedule.pk}:{as_of.isoformat()}:{customer.pk}",
            customer,
            context,
            texts,
            endpoint,
            outcome,
        )
    with transaction.atomic():
        outcome.add(_insert(messages))
        enqueue_sending()
    return outcome


# --- internal alerts ---------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """One internal alert: ``what`` (churn, concentration, revisit), about ``customer``,
    ``key`` naming the occurrence (so that it is sent once), ``detail`` in the staff's
    language."""

    what: str
    customer: Customer
    tier: str
    key: str
    detail: str


ALERT_TITLES = {
    "churn": ("Valuable customer at churn risk", "重要客户流失预警"),
    "concentration": ("Customer above the concentration share", "客户集中度超限"),
    "revisit": ("Overdue revisit of a top-tier customer", "顶级客户回访逾期"),
}


def churn_and_concentration(ruleset: RuleSet) -> list[Alert]:
    """The dashboard's churn warning and concentration alerts over the primary rule
    set's latest published results (:func:`tiering_web.dashboard.portfolio.build`)."""
    from tiering_web.dashboard.portfolio import build

    figures = build(ruleset)
    if figures is None:
        return []
    found: list[tuple[str, str, str, str]] = []
    if figures.churn is not None:
        for risk in figures.churn.at_risk:
            if risk.recency_days is not None and risk.usual_gap_days is not None:
                detail = _("No order for %(days)s days; usually one every %(gap)s days.") % {
                    "days": _number(round(risk.recency_days)),
                    "gap": _number(round(risk.usual_gap_days)),
                }
            else:
                detail = _("Probability still active: %(pct)s%%.") % {
                    "pct": _number(round((risk.p_alive or 0) * 100))
                }
            found.append(("churn", risk.customer_id, risk.tier or "", detail))
    if figures.concentration is not None:
        for share in figures.concentration.alerts:
            detail = _("%(pct)s%% of revenue (alert at %(limit)s%%): revenue %(revenue)s.") % {
                "pct": number_format(share.share * 100, 1, use_l10n=True),
                "limit": _number(round(figures.concentration.alert_share * 100)),
                "revenue": money(Decimal(repr(share.revenue))),
            }
            found.append(("concentration", share.customer_id, share.tier or "", detail))
    customers = (
        Customer.objects.active()
        .select_related("owner")
        .in_bulk([code for _what, code, _tier, _detail in found], field_name="code")
    )
    evaluation = figures.evaluation.pk
    return [
        Alert(what, customers[code], tier, f"{what}:{evaluation}:{customers[code].pk}", detail)
        for what, code, tier, detail in found
        if code in customers
    ]


def overdue_revisits(ruleset: RuleSet, today: dt.date) -> list[Alert]:
    """Open revisit tasks (``accountwork.Task``) of customers in the rule set's top tier
    that were due before ``today``. Empty while the account managers' work app has no
    task table (its model or migration not installed yet)."""
    try:
        task_model = apps.get_model("accountwork", "Task")
    except LookupError:
        return []
    names = tier_names(ruleset)
    if not names:
        return []
    top = names[0]
    tasks = (
        task_model.objects.filter(
            status="open",
            due__lt=today,
            customer__tiers__ruleset=ruleset,
            customer__tiers__valid_to__isnull=True,
            customer__tiers__tier=top,
        )
        .select_related("customer__owner")
        .order_by("due", "id")
    )
    try:
        rows = list(tasks)
    except DatabaseError:  # the table is not migrated yet
        logger.warning("accountwork.Task has no table yet: no revisit alerts")
        return []
    return [
        Alert(
            "revisit",
            task.customer,
            top,
            f"revisit:{task.pk}",
            _("%(kind)s due on %(due)s, %(days)s days overdue.")
            % {
                "kind": task.get_kind_display(),
                "due": date_format(task.due, "DATE_FORMAT"),
                "days": (today - task.due).days,
            },
        )
        for task in rows
    ]


def _alert_recipients(customer: Customer) -> list:
    """The customer's account manager when they have an e-mail, else the managers and
    administrators who have one."""
    owner = customer.owner
    if owner is not None and owner.is_active and owner.email:
        return [owner]
    from django.contrib.auth import get_user_model

    return list(
        get_user_model()
        .objects.filter(is_active=True, role__in=[Role.MANAGER, Role.ADMINISTRATOR])
        .exclude(email="")
        .order_by("id")
    )


def queue_alerts(today: dt.date) -> Queued:
    """Queue the internal alerts of the primary rule set: valuable customers at churn
    risk and customers above the concentration share (once per published evaluation),
    overdue revisits of top-tier customers (once per task), by e-mail to the customer's
    account manager (else the managers) and to every active alert webhook."""
    outcome = Queued()
    ruleset = RuleSet.objects.filter(is_primary=True).first()
    if ruleset is None:
        return outcome
    language = staff_language()
    with translation.override(language):
        alerts = churn_and_concentration(ruleset) + overdue_revisits(ruleset, today)
    texts = wording.Wording()
    endpoints = list(
        WebhookEndpoint.objects.filter(purpose=WebhookEndpoint.Purpose.ALERT, active=True)
    )
    messages = []
    now = timezone.now()
    for alert in alerts:
        customer = alert.customer
        title = ALERT_TITLES[alert.what][0 if language == Language.EN else 1]
        context = {
            "alert": title,
            "customer_code": customer.code,
            "customer_name": customer.name,
            "tier": alert.tier,
            "owner": customer.owner.get_username() if customer.owner else "",
            "detail": alert.detail,
        }
        targets = [
            (Channel.EMAIL, u.email, u, None, f"u{u.pk}") for u in _alert_recipients(customer)
        ]
        targets += [(Channel.WEBHOOK, e.url, None, e, f"w{e.pk}") for e in endpoints]
        if not targets:
            outcome.skipped.append((customer.code, "alert: nobody to tell"))
        for channel, address, user, endpoint, who in targets:
            with translation.override(language):
                subject, body = texts.render(Kind.ALERT, language, channel, context)
            messages.append(
                Message(
                    idempotency_key=f"alert:{alert.key}:{who}",
                    kind=Kind.ALERT,
                    channel=channel,
                    endpoint=endpoint,
                    recipient=address,
                    recipient_user=user,
                    language=language,
                    subject=subject,
                    body=body,
                    next_attempt_at=now,
                    customer=customer,
                )
            )
    with transaction.atomic():
        outcome.add(_insert(messages))
        enqueue_sending()
    return outcome


# --- audited writes ----------------------------------------------------------------------


def _reason(reason: str) -> None:
    if not (reason or "").strip():
        raise ValidationError({"reason": _("A reason is required.")})


def do_save_template(
    actor, kind: str, language: str, channel: str, subject: str, body: str, reason: str
) -> MessageTemplate:
    """Save the wording of one kind of message (replacing the saved or built-in one);
    the subject and body must compile in the sandbox."""
    errors = {}
    if (kind, language, channel) not in wording.DEFAULTS:
        raise ValidationError(
            _("There is no such message: %(what)s.") % {"what": f"{kind}/{language}/{channel}"}
        )
    for name, source in (("subject", subject), ("body", body)):
        try:
            wording.check(source)
        except wording.TemplateSyntaxError as error:
            errors[name] = ValidationError(
                _("Template error: %(error)s") % {"error": error}, code="syntax"
            )
    if not (body or "").strip():
        errors["body"] = ValidationError(_("The body cannot be empty."), code="required")
    if not (reason or "").strip():
        errors["reason"] = ValidationError(_("A reason is required."), code="required")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        before = MessageTemplate.objects.filter(
            kind=kind, language=language, channel=channel
        ).first()
        template, _created = MessageTemplate.objects.update_or_create(
            kind=kind,
            language=language,
            channel=channel,
            defaults={"subject": subject, "body": body, "updated_by": actor},
        )
        record(
            actor,
            "notification.template.save",
            template,
            reason,
            changes={
                "subject": [before.subject if before else None, subject],
                "body": [before.body if before else None, body],
            },
        )
    return template


def do_reset_template(actor, template: MessageTemplate, reason: str) -> None:
    """Delete a saved wording: the built-in one applies again."""
    _reason(reason)
    with transaction.atomic():
        record(
            actor,
            "notification.template.reset",
            template,
            reason,
            subject=template.subject,
            body=template.body,
        )
        template.delete()


ENDPOINT_FIELDS = ("name", "purpose", "url", "secret", "active", "events")


def do_save_endpoint(
    actor, endpoint: WebhookEndpoint | None, data: dict[str, Any], reason: str
) -> WebhookEndpoint:
    """Create (``endpoint`` None) or change a webhook endpoint. The secret is never
    written to the audit log, only that it changed."""
    unknown = set(data) - set(ENDPOINT_FIELDS)
    if unknown:
        raise TypeError(f"endpoint fields that cannot be set: {', '.join(sorted(unknown))}")
    creating = endpoint is None
    endpoint = endpoint or WebhookEndpoint()
    before = {name: getattr(endpoint, name) for name in ENDPOINT_FIELDS}
    for name, value in data.items():
        setattr(endpoint, name, value)
    errors = {}
    try:
        endpoint.full_clean()
    except ValidationError as error:
        errors.update(error.error_dict)
    if endpoint.purpose != WebhookEndpoint.Purpose.INTEGRATION:
        endpoint.events = []
    elif not endpoint.events or set(endpoint.events) - set(EVENTS):
        errors["events"] = [
            ValidationError(
                _("Choose the events this integration is told of: %(events)s.")
                % {"events": ", ".join(EVENTS)},
                code="events",
            )
        ]
    if not (reason or "").strip():
        errors["reason"] = [ValidationError(_("A reason is required."), code="required")]
    if errors:
        raise ValidationError(errors)
    changes = {
        name: [
            "***" if name == "secret" else before[name],
            "***" if name == "secret" else getattr(endpoint, name),
        ]
        for name in ENDPOINT_FIELDS
        if creating or before[name] != getattr(endpoint, name)
    }
    with transaction.atomic():
        endpoint.save()
        record(
            actor,
            "notification.endpoint.create" if creating else "notification.endpoint.update",
            endpoint,
            reason,
            changes=changes,
        )
    return endpoint


def do_set_preference(
    actor, customer: Customer, changes: dict[str, Any], reason: str = ""
) -> Preference:
    """Change a customer's language or opt-outs; each change is recorded as
    ``{field: [old, new]}``. Opting out also stops the messages already queued."""
    allowed = {"language", "email_opt_out", "sms_opt_out"}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"preference fields that cannot be set: {', '.join(sorted(unknown))}")
    if "language" in changes and changes["language"] not in Language.values:
        raise ValidationError({"language": _("Choose Chinese or English.")})
    with transaction.atomic():
        preference, _created = Preference.objects.select_for_update().get_or_create(
            customer=customer
        )
        changed = {
            name: [getattr(preference, name), value]
            for name, value in changes.items()
            if getattr(preference, name) != value
        }
        if not changed:
            return preference
        for name, value in changes.items():
            setattr(preference, name, value)
        preference.updated_by = actor
        preference.save()
        record(
            actor,
            "notification.preference.update",
            customer,
            reason,
            changes=changed,
        )
    return preference


def do_retry_message(actor, message: Message, reason: str) -> Message:
    """Send a dead (or failed) message again now, with a fresh count of attempts."""
    _reason(reason)
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.status not in (Message.Status.DEAD, Message.Status.FAILED):
            raise ValidationError(_("Only a failed or dead message can be retried."))
        record(
            actor,
            "notification.message.retry",
            locked,
            reason,
            status=locked.status,
            attempts=locked.attempts,
            last_error=locked.last_error,
        )
        locked.status = Message.Status.PENDING
        locked.attempts = 0
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["status", "attempts", "next_attempt_at"])
        enqueue_sending()
    return locked
