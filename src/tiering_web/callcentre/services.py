"""The call centre's services: the phone index, the priority answer for a caller, recording
calls (API and CSV import, all or nothing, audited) and the SLA report per tier.

**When the phone index is brought up to date** (:func:`sync_phone_index`):

* saving one customer (``Customer.save``, i.e. the pages, the API and the admin): its own
  numbers at once, in the same transaction (:func:`index_customer`, a ``post_save``
  receiver);
* a customers import (bulk statements, no ``save``): once its job is done, the customers
  it created or updated (``updated_at`` since the job started), right after the commit;
* every published evaluation, and ``python -m tiering_web rebuild_phone_index`` or the
  button on the SLA page: every customer, in the background worker (the command runs in
  the foreground). Run the command after changing contacts by any other way (SQL, a
  restore).

**Priority answer** (:func:`priority_for_phone`, :func:`priority_for_customer`): the tier
is the customer's current tier under the primary rule set; its queue priority, answer
target and callback promise come from the tier policies in force today, cached in each
process for :data:`TERMS_TTL` seconds (a newly approved version reaches every process
within that time). A blacklisted customer gets priority :data:`BLACKLISTED_PRIORITY`
whatever their tier; a customer without a tier or whose tier has no policy, and an unknown
caller, get :data:`UNKNOWN_PRIORITY` (``settings.CALLCENTRE_UNKNOWN_PRIORITY``, 5 unless
set). A number on several customers' contact lists answers for the one with the best
priority (then the smallest code).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import threading
import time
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from tiering_web.accounts.models import Role
from tiering_web.accounts.permissions import role
from tiering_web.audit.services import record
from tiering_web.callcentre.models import CallLog, PhoneIndex
from tiering_web.callcentre.phones import contact_phones, normalise_phone
from tiering_web.customers.models import Customer, Status
from tiering_web.evaluations.models import TierAssignment
from tiering_web.policies.models import PolicyVersion
from tiering_web.policies.services import policies_in_force, tier_names
from tiering_web.rulesets.models import RuleSet

UNKNOWN_PRIORITY: int = getattr(settings, "CALLCENTRE_UNKNOWN_PRIORITY", 5)
BLACKLISTED_PRIORITY = 9
#: Seconds a process keeps the tier policies in force (and the primary rule set).
TERMS_TTL = 60.0
#: Customers read per step of a phone index rebuild.
SYNC_STEP = 2000

# --------------------------------------------------------------------------- phone index


def index_customer(customer: Customer) -> None:
    """Make the index hold exactly ``customer``'s current numbers (one read when nothing
    changed)."""
    wanted = contact_phones(customer.contacts)
    stored = set(PhoneIndex.objects.filter(customer=customer).values_list("phone", flat=True))
    if wanted == stored:
        return
    if stored - wanted:
        PhoneIndex.objects.filter(customer=customer, phone__in=stored - wanted).delete()
    PhoneIndex.objects.bulk_create(
        [PhoneIndex(phone=p, customer=customer) for p in sorted(wanted - stored)],
        ignore_conflicts=True,
    )


def sync_phone_index(customers: QuerySet | None = None) -> dict[str, int]:
    """Bring the index up to date for ``customers`` (all of them by default), reading
    :data:`SYNC_STEP` customers at a time, each step in its own transaction. Returns
    ``{"customers": read, "added": n, "removed": n}``."""
    customers = Customer.objects.all() if customers is None else customers
    counts = {"customers": 0, "added": 0, "removed": 0}
    last = 0
    while True:
        step = list(
            customers.filter(pk__gt=last).order_by("pk").values_list("pk", "contacts")[:SYNC_STEP]
        )
        if not step:
            return counts
        last = step[-1][0]
        wanted = {(phone, pk) for pk, contacts in step for phone in contact_phones(contacts)}
        with transaction.atomic():
            stored = {
                (phone, customer_id): pk
                for pk, phone, customer_id in PhoneIndex.objects.filter(
                    customer_id__in=[pk for pk, _ in step]
                ).values_list("pk", "phone", "customer_id")
            }
            gone = [pk for key, pk in stored.items() if key not in wanted]
            new = [PhoneIndex(phone=p, customer_id=c) for p, c in wanted if (p, c) not in stored]
            if gone:
                PhoneIndex.objects.filter(pk__in=gone).delete()
            PhoneIndex.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
        counts["customers"] += len(step)
        counts["added"] += len(new)
        counts["removed"] += len(gone)


def do_request_phone_index_rebuild(actor, reason: str):
    """Queue a rebuild of the whole index in the background worker (audited)."""
    from tiering_web.callcentre.tasks import rebuild_phone_index

    result = rebuild_phone_index.enqueue()
    record(actor, "callcentre.phone_index.rebuild", None, reason, task=str(result.id))
    return result


# --------------------------------------------------------------------------- terms in force


@dataclasses.dataclass(frozen=True)
class Terms:
    """A tier's call-centre terms."""

    queue_priority: int
    answer_seconds: int | None = None
    answer_share: Decimal | None = None
    callback_hours: int | None = None


@dataclasses.dataclass(frozen=True)
class _InForce:
    ruleset_id: int | None
    tiers: dict[str, Terms]
    day: dt.date
    expires: float


_in_force: _InForce | None = None
_in_force_lock = threading.Lock()


def clear_terms_cache() -> None:
    """Forget this process's cached policies (a policy or the primary rule set changed)."""
    global _in_force
    _in_force = None


def terms_in_force() -> _InForce:
    """The primary rule set and its tiers' call-centre terms today, cached for
    :data:`TERMS_TTL` seconds and never across midnight."""
    global _in_force
    today = timezone.localdate()
    cached = _in_force
    if cached is not None and cached.day == today and cached.expires > time.monotonic():
        return cached
    with _in_force_lock:
        ruleset = RuleSet.objects.filter(is_primary=True).first()
        tiers = {}
        if ruleset is not None:
            tiers = {
                name: Terms(p.queue_priority, p.answer_seconds, p.answer_share, p.callback_hours)
                for name, p in policies_in_force(ruleset, today).items()
            }
        _in_force = _InForce(
            ruleset.pk if ruleset else None, tiers, today, time.monotonic() + TERMS_TTL
        )
        return _in_force


# --------------------------------------------------------------------------- priority


def _answer(phone: str, row: tuple | None, terms: _InForce) -> dict[str, Any]:
    """The answer for one matched customer row ``(code, name, status, tier)`` or for none."""
    code, name, status, tier = row or (None, None, None, None)
    policy = terms.tiers.get(tier) if tier else None
    blacklisted = status == Status.BLACKLISTED
    if blacklisted:
        priority = BLACKLISTED_PRIORITY
    else:
        priority = policy.queue_priority if policy else UNKNOWN_PRIORITY
    share = policy.answer_share if policy else None
    return {
        "known": row is not None,
        "phone": phone,
        "customer": code,
        "name": name,
        "tier": tier,
        "queue_priority": priority,
        "answer_seconds": policy.answer_seconds if policy else None,
        "answer_share": float(share) if share is not None else None,
        "callback_hours": policy.callback_hours if policy else None,
        "blacklisted": blacklisted,
    }


def _best(phone: str, rows: list[tuple], terms: _InForce) -> dict[str, Any]:
    answers = [_answer(phone, row, terms) for row in rows] or [_answer(phone, None, terms)]
    return min(answers, key=lambda a: (a["queue_priority"], a["customer"] or ""))


def _lookup_sql(by: str, own: bool) -> str:
    """One statement for the hot path (the ORM's compiling cost more than the query):
    the matched customers with their open tier under the primary rule set."""
    customer = Customer._meta.db_table
    phones = PhoneIndex._meta.db_table
    tiers = TierAssignment._meta.db_table
    where = "p.phone = %s" if by == "phone" else "c.code = %s"
    source = (
        f"{phones} p JOIN {customer} c ON c.id = p.customer_id"
        if by == "phone"
        else (f"{customer} c")
    )
    return (
        f"SELECT c.code, c.name, c.status, t.tier FROM {source} "
        f"LEFT JOIN {tiers} t ON t.customer_id = c.id AND t.ruleset_id = %s "
        f"AND t.valid_to IS NULL WHERE {where}"
        + (" AND c.owner_id = %s" if own else "")
        + " ORDER BY c.code LIMIT 20"
    )


def _rows(user, by: str, value: str, terms: _InForce) -> list[tuple]:
    """An account manager hears only of their own customers; everyone else of all."""
    own = role(user) == Role.ACCOUNT_MANAGER
    params = [terms.ruleset_id, value] + ([user.pk] if own else [])
    with connection.cursor() as cursor:
        cursor.execute(_lookup_sql(by, own), params)
        return cursor.fetchall()


def priority_for_phone(user, raw_phone: str) -> dict[str, Any]:
    """The call-centre answer for a caller's number (see the module's rules)."""
    phone = normalise_phone(raw_phone)
    terms = terms_in_force()
    if not phone:
        return _answer(phone, None, terms)
    return _best(phone, _rows(user, "phone", phone, terms), terms)


def priority_for_customer(user, code: str) -> dict[str, Any]:
    """The call-centre answer for a customer code (``known`` false for a code the user
    may not see or that does not exist)."""
    terms = terms_in_force()
    return _best("", _rows(user, "code", code, terms), terms)


# --------------------------------------------------------------------------- recording calls


@dataclasses.dataclass(frozen=True)
class CallIssue:
    """A problem of one call: its ``row`` (the list position from 0 for the API, the
    spreadsheet row for a file), the ``field`` (our name or the file's header), the value
    as given and what is wrong."""

    row: int
    field: str
    value: str | None
    message: str


class CallsRejected(Exception):
    """Some calls are bad; none was recorded. ``issues`` lists every problem."""

    def __init__(self, issues: list[CallIssue]):
        self.issues = issues
        super().__init__("; ".join(f"{i.row} {i.field}: {i.message}" for i in issues[:10]))


def _tiers_on(customer_ids: Iterable[int], ruleset_id: int | None):
    """customer id → [(valid_from, valid_to, tier)] under the rule set."""
    history: dict[int, list[tuple]] = {}
    if ruleset_id is None:
        return history
    ids = sorted(set(customer_ids))
    for i in range(0, len(ids), 1000):
        for cid, start, end, tier in TierAssignment.objects.filter(
            ruleset_id=ruleset_id, customer_id__in=ids[i : i + 1000]
        ).values_list("customer_id", "valid_from", "valid_to", "tier"):
            history.setdefault(cid, []).append((start, end, tier))
    return history


def _tier_on(history: list[tuple], day: dt.date) -> str:
    for start, end, tier in history:
        if start <= day and (end is None or end > day):
            return tier
    return ""


def _check_calls(calls: list[dict[str, Any]], rows: list[int]) -> list[CallIssue]:
    """Every problem of the calls, ``rows[i]`` naming call ``i``."""
    issues: list[CallIssue] = []
    seen: dict[str, int] = {}
    for row, call in zip(rows, calls, strict=True):
        caller = str(call.get("caller") or "").strip()
        if not caller:
            issues.append(CallIssue(row, "caller", None, _("the caller's number is missing")))
        elif len(caller) > 64:
            issues.append(CallIssue(row, "caller", caller, _("longer than 64 characters")))
        queued = call.get("queued_at")
        if not isinstance(queued, dt.datetime):
            issues.append(CallIssue(row, "queued_at", None, _("the queue time is missing")))
        wait = call.get("wait_seconds")
        if not isinstance(wait, int) or isinstance(wait, bool) or wait < 0:
            issues.append(
                CallIssue(
                    row,
                    "wait_seconds",
                    None if wait is None else str(wait),
                    _("must be a whole number of seconds, 0 or more"),
                )
            )
        if not isinstance(call.get("answered"), bool):
            issues.append(CallIssue(row, "answered", None, _("say whether the call was answered")))
        callback = call.get("callback_at")
        if callback is not None and isinstance(queued, dt.datetime) and callback < queued:
            issues.append(
                CallIssue(
                    row, "callback_at", callback.isoformat(), _("earlier than the call itself")
                )
            )
        reference = str(call.get("reference") or "").strip()
        if len(reference) > 100:
            issues.append(CallIssue(row, "reference", reference, _("longer than 100 characters")))
        elif reference and reference in seen:
            issues.append(
                CallIssue(
                    row,
                    "reference",
                    reference,
                    _("the same call reference as row %(row)s") % {"row": seen[reference]},
                )
            )
        elif reference:
            seen[reference] = row
    references = list(seen)
    stored: set[str] = set()
    for i in range(0, len(references), 1000):
        stored.update(
            CallLog.objects.filter(reference__in=references[i : i + 1000]).values_list(
                "reference", flat=True
            )
        )
    for reference in stored:
        issues.append(
            CallIssue(seen[reference], "reference", reference, _("this call is already recorded"))
        )
    issues.sort(key=lambda i: i.row)
    return issues


def do_record_calls(
    actor, calls: list[dict[str, Any]], reason: str, *, rows: list[int] | None = None
) -> list[CallLog]:
    """Record calls (``caller``, ``queued_at``, ``wait_seconds``, ``answered``, optional
    ``callback_at`` and ``reference``), matching each caller through the phone index to a
    customer and their tier on the call's date; all of them or, when any is bad, none
    (:class:`CallsRejected` names every problem by ``rows[i]``, default ``i``). One audit
    entry for the batch."""
    rows = rows if rows is not None else list(range(len(calls)))
    issues = _check_calls(calls, rows)
    if issues:
        raise CallsRejected(issues)
    terms = terms_in_force()
    phones = sorted({normalise_phone(c["caller"]) for c in calls} - {""})
    owners: dict[str, list[tuple[int, str]]] = {}
    for i in range(0, len(phones), 1000):
        for phone, cid, code in PhoneIndex.objects.filter(
            phone__in=phones[i : i + 1000]
        ).values_list("phone", "customer_id", "customer__code"):
            owners.setdefault(phone, []).append((cid, code))
    history = _tiers_on((cid for found in owners.values() for cid, _ in found), terms.ruleset_id)

    def rank(candidate):
        found = terms.tiers.get(candidate[2])
        return (found.queue_priority if found else UNKNOWN_PRIORITY, candidate[1])

    made = []
    for call in calls:
        phone = normalise_phone(call["caller"])
        day = timezone.localdate(call["queued_at"])
        candidates = [
            (cid, code, _tier_on(history.get(cid, []), day)) for cid, code in owners.get(phone, [])
        ]
        customer_id, tier = None, ""
        if candidates:
            customer_id, _code, tier = min(candidates, key=rank)
        made.append(
            CallLog(
                caller=str(call["caller"]).strip(),
                phone=phone,
                customer_id=customer_id,
                tier=tier,
                queued_at=call["queued_at"],
                wait_seconds=call["wait_seconds"],
                answered=call["answered"],
                callback_at=call.get("callback_at"),
                reference=str(call.get("reference") or "").strip(),
                recorded_by=actor if getattr(actor, "pk", None) else None,
            )
        )
    with transaction.atomic():
        CallLog.objects.bulk_create(made, batch_size=1000)
        record(
            actor,
            "callcentre.calls.record",
            None,
            reason,
            calls=len(made),
            matched=sum(1 for c in made if c.customer_id),
        )
    return made


#: Our field → headers recognised in a calls file (compared without case or spaces).
CSV_HEADERS: dict[str, tuple[str, ...]] = {
    "caller": ("caller", "主叫号码", "来电号码", "主叫", "电话", "phone"),
    "queued_at": ("queued_at", "排队时间", "来电时间", "呼入时间", "queued at", "time"),
    "wait_seconds": ("wait_seconds", "等待秒数", "等待时长", "排队时长", "wait", "wait seconds"),
    "answered": ("answered", "是否接通", "接通", "结果", "状态", "outcome", "result"),
    "callback_at": ("callback_at", "回拨时间", "回电时间", "callback at", "callback"),
    "reference": ("reference", "通话编号", "呼叫编号", "流水号", "call id", "id"),
}
_REQUIRED = ("caller", "queued_at", "wait_seconds", "answered")
_YES = {"1", "true", "yes", "y", "是", "接通", "已接", "已接通", "answered"}
_NO = {"0", "false", "no", "n", "否", "放弃", "未接", "未接通", "abandoned"}
_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
)


def _datetime(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        value = None
        for fmt in _DATETIME_FORMATS:
            try:
                value = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if value is None:
        return None
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CallsRejected([CallIssue(1, "", None, _("the file is neither UTF-8 nor GBK text"))])


def _key(header: str) -> str:
    return "".join(str(header).split()).lower()


def read_calls_csv(data: bytes):
    """The calls of a CSV file (UTF-8, UTF-8 with BOM or GBK; headers in English or
    Chinese, see :data:`CSV_HEADERS`): ``(calls, rows, headers, issues)`` with each call's
    spreadsheet row (the header is row 1), our field → the file's header, and the cells
    that could not be read (those calls hold ``None`` there). Raises
    :class:`CallsRejected` when the file itself is unusable (no header, missing columns,
    no rows)."""
    reader = csv.reader(io.StringIO(_decode(data)))
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise CallsRejected([CallIssue(1, "", None, _("the file is empty"))])
    by_key = {_key(h): i for i, h in enumerate(header)}
    columns: dict[str, int] = {}
    for field, names in CSV_HEADERS.items():
        found = next((by_key[_key(n)] for n in names if _key(n) in by_key), None)
        if found is not None:
            columns[field] = found
    missing = [f for f in _REQUIRED if f not in columns]
    if missing:
        raise CallsRejected(
            [
                CallIssue(
                    1,
                    field,
                    None,
                    _("no column for %(field)s (e.g. %(header)s); the file has: %(have)s")
                    % {"field": field, "header": CSV_HEADERS[field][1], "have": ", ".join(header)},
                )
                for field in missing
            ]
        )
    headers = {field: header[i] for field, i in columns.items()}
    calls, rows, issues = [], [], []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue

        def cell(field, cells=cells):
            i = columns.get(field)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        def bad(field, value, message, number=number):
            issues.append(CallIssue(number, headers[field], value, message))

        call: dict[str, Any] = {"caller": cell("caller"), "reference": cell("reference")}
        for field in ("queued_at", "callback_at"):
            text = cell(field)
            call[field] = _datetime(text) if text else None
            if text and call[field] is None:
                bad(field, text, _("not a date and time such as 2026-10-01 09:30:00"))
        text = cell("wait_seconds")
        try:
            seconds = Decimal(text.removesuffix("秒").removesuffix("s").strip())
            call["wait_seconds"] = int(seconds.to_integral_value()) if seconds >= 0 else None
        except InvalidOperation:
            call["wait_seconds"] = None
        if call["wait_seconds"] is None:
            bad("wait_seconds", text, _("not a number of seconds, 0 or more"))
        text = cell("answered")
        call["answered"] = True if text.lower() in _YES else False if text.lower() in _NO else None
        if call["answered"] is None:
            bad("answered", text, _("write answered/abandoned (接通/放弃) or yes/no"))
        calls.append(call)
        rows.append(number)
    if not calls:
        raise CallsRejected([CallIssue(1, "", None, _("the file has no rows"))])
    return calls, rows, headers, issues


def do_import_calls(actor, data: bytes, file_name: str, reason: str) -> list[CallLog]:
    """Import a calls file: every row checked and every problem named by its row and
    header, then all recorded or none (see :func:`read_calls_csv` and
    :func:`do_record_calls`)."""
    calls, rows, headers, issues = read_calls_csv(data)
    bad_rows = {i.row for i in issues}
    readable = [(c, r) for c, r in zip(calls, rows, strict=True) if r not in bad_rows]
    issues += _check_calls([c for c, _ in readable], [r for _, r in readable])
    if issues:
        raise CallsRejected(
            sorted(
                (dataclasses.replace(i, field=headers.get(i.field, i.field)) for i in issues),
                key=lambda i: i.row,
            )
        )
    return do_record_calls(actor, calls, f"{reason} ({file_name})".strip(), rows=rows)


# --------------------------------------------------------------------------- SLA report


@dataclasses.dataclass
class SlaRow:
    """One tier's calls in a period against the targets of the policy in force at its
    end. ``within`` counts answered calls whose wait was within the answer target of the
    policy in force on the call's date; its share is of all calls (an abandoned call is not
    answered in time). ``callbacks_due`` are the abandoned calls of a tier promised a
    callback, ``callbacks_in_time`` those called back within the promise."""

    tier: str
    calls: int = 0
    answered: int = 0
    within: int = 0
    abandoned: int = 0
    callbacks_due: int = 0
    callbacks_in_time: int = 0
    answer_seconds: int | None = None
    answer_share: Decimal | None = None
    callback_hours: int | None = None

    @property
    def within_share(self) -> float | None:
        return self.within / self.calls if self.calls and self.answer_seconds else None

    @property
    def met(self) -> bool | None:
        """Whether the share answered in time reaches the target (None without one)."""
        if self.within_share is None or self.answer_share is None:
            return None
        return self.within * 1000 >= self.calls * int(self.answer_share * 1000)

    @property
    def callback_share(self) -> float | None:
        return self.callbacks_in_time / self.callbacks_due if self.callbacks_due else None


def _periods(ruleset: RuleSet | None, start: dt.date, end: dt.date):
    """[(first day, last day, version or None)] covering start..end by the version in
    force on each day."""
    if ruleset is None:
        return [(start, end, None)]
    versions = PolicyVersion.objects.filter(
        ruleset=ruleset, status=PolicyVersion.Status.APPROVED, effective_date__lte=end
    ).order_by("effective_date", "number")
    changes: dict[dt.date, PolicyVersion | None] = {start: None}
    for version in versions:
        changes[max(version.effective_date, start)] = version  # the later number wins
    days = sorted(changes)
    return [
        (day, (days[i + 1] - dt.timedelta(days=1)) if i + 1 < len(days) else end, changes[day])
        for i, day in enumerate(days)
    ]


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def sla_report(start: dt.date, end: dt.date) -> list[SlaRow]:
    """Per tier of the primary rule set (best first, then calls of other or no tier,
    the latter as tier ""), the calls queued from ``start`` to ``end`` (local days,
    inclusive) and how they met the targets: one grouped query per policy version in
    force during the period."""
    ruleset = RuleSet.objects.filter(is_primary=True).first()
    names = tier_names(ruleset) if ruleset else []
    rows: dict[str, SlaRow] = {name: SlaRow(name) for name in names}
    for first, last, version in _periods(ruleset, start, end):
        policies = {p.tier: p for p in version.tiers.all()} if version else {}
        target = Case(
            *[
                When(tier=t, then=Value(p.answer_seconds))
                for t, p in policies.items()
                if p.answer_seconds is not None
            ],
            default=Value(None),
            output_field=IntegerField(),
        )
        deadline = Case(
            *[
                When(tier=t, then=F("queued_at") + dt.timedelta(hours=p.callback_hours))
                for t, p in policies.items()
                if p.callback_hours is not None
            ],
            default=Value(None),
            output_field=DateTimeField(),
        )
        promised = [t for t, p in policies.items() if p.callback_hours is not None]
        grouped = (
            CallLog.objects.filter(
                queued_at__gte=_day_start(first), queued_at__lt=_day_start(last + dt.timedelta(1))
            )
            .values("tier")
            .annotate(
                n=Count("id"),
                n_answered=Count("id", filter=Q(answered=True)),
                n_within=Count("id", filter=Q(answered=True, wait_seconds__lte=target)),
                n_abandoned=Count("id", filter=Q(answered=False)),
                n_due=Count("id", filter=Q(answered=False, tier__in=promised)),
                n_back=Count(
                    "id",
                    filter=Q(
                        answered=False,
                        tier__in=promised,
                        callback_at__isnull=False,
                        callback_at__lte=deadline,
                    ),
                ),
            )
            .order_by()
        )
        for g in grouped:
            row = rows.setdefault(g["tier"], SlaRow(g["tier"]))
            row.calls += g["n"]
            row.answered += g["n_answered"]
            row.within += g["n_within"]
            row.abandoned += g["n_abandoned"]
            row.callbacks_due += g["n_due"]
            row.callbacks_in_time += g["n_back"]
        for tier, policy in policies.items():
            row = rows.setdefault(tier, SlaRow(tier))
            row.answer_seconds = policy.answer_seconds
            row.answer_share = policy.answer_share
            row.callback_hours = policy.callback_hours
    order = {name: i for i, name in enumerate(names)}
    return sorted(
        rows.values(), key=lambda r: (r.tier == "", order.get(r.tier, len(order)), r.tier)
    )
