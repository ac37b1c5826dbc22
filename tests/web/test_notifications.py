"""Notifications: tier-change messages through a real SMTP server (aiosmtpd) and a local
webhook receiver on loopback, retries with back-off, a worker dying mid-send (nothing
lost, nothing sent twice), opt-out, digests, warnings before an evaluation, internal
alerts, the pages and their role matrix."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import hashlib
import hmac
import io
import json
import signal
import socket
import threading
from decimal import Decimal
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tiering_web.accounts.models import Role
from tiering_web.audit.models import AuditEntry
from tiering_web.customers.models import Customer, Transaction
from tiering_web.evaluations.schedules import do_create_schedule
from tiering_web.evaluations.services import (
    publish_evaluation,
    run_evaluation,
    withdraw_evaluation,
)
from tiering_web.notifications import sending, services
from tiering_web.notifications.models import (
    Channel,
    Kind,
    Message,
    MessageTemplate,
    Preference,
    WebhookEndpoint,
)
from tiering_web.notifications.services import do_save_endpoint, do_set_preference
from tiering_web.notifications.tasks import send_due_messages
from tiering_web.policies.services import do_save_policy_version
from tiering_web.rulesets.services import do_set_primary

from .conftest import AS_OF, NEXT_QUARTER, approve_policies
from .worker import delivered_after_the_lease, kill_mid_send, run_worker

# the engine reads through its own connection, which sees committed rows only; the
# subprocess worker too
pytestmark = pytest.mark.django_db(transaction=True)

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
SECRET = "s3cret-gateway-key"
NOVEMBER = dt.date(2026, 11, 2)


# --- a real SMTP server and a webhook receiver on loopback ----------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler: keeps every message received; when ``slow``, holds the SMTP
    transaction open (no reply to DATA) until ``release`` is set."""

    def __init__(self):
        self.received: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()
        self.slow = False
        self.started = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.received.append(message)
        if self.slow:
            self.started.set()
            for _ in range(600):
                if self.release.is_set():
                    break
                await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"

    def unique(self) -> dict[str, email.message.EmailMessage]:
        """The messages a receiver keeps after dropping copies with a Message-ID seen."""
        kept = {}
        for message in self.received:
            kept.setdefault(message["Message-ID"], message)
        return kept

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.unique().values() if m["To"] == address]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.DEFAULT_FROM_EMAIL = "service@tiering.example"
    inbox.port = port
    try:
        yield inbox
    finally:
        inbox.release.set()
        controller.stop()


class Gateway:
    """The company's gateway as the webhook receiver should be: checks the HMAC and the
    timestamp, answers 500 ``fail`` times first, keeps each Idempotency-Key once; with
    ``hold``, it takes a request in (``started``) and answers only once ``release`` is set
    (a sender can be killed mid-delivery)."""

    def __init__(self):
        self.fail = 0
        self.hold = False
        self.started = threading.Event()
        self.release = threading.Event()
        self.requests: list[dict] = []
        self.accepted: dict[str, dict] = {}
        self.bad_signatures = 0
        self.lock = threading.Lock()


def _handler(gateway: Gateway):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            timestamp = self.headers["X-Tiering-Timestamp"]
            expected = (
                "sha256="
                + hmac.new(
                    SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256
                ).hexdigest()
            )
            key = self.headers["Idempotency-Key"]
            if gateway.hold:
                gateway.started.set()
                gateway.release.wait(60)
            with gateway.lock:
                gateway.requests.append({"key": key, "body": json.loads(body)})
                if not hmac.compare_digest(expected, self.headers["X-Tiering-Signature"]):
                    gateway.bad_signatures += 1
                    status = 401
                elif gateway.fail > 0:
                    gateway.fail -= 1
                    status = 500
                else:
                    gateway.accepted.setdefault(key, json.loads(body))
                    status = 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"no")

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def gateway():
    state = Gateway()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- the company -------------------------------------------------------------------------


@pytest.fixture
def staff(django_user_model, manager):
    manager.email = "wang@corp.example"
    manager.save()
    made = {Role.MANAGER: manager}
    for username, role in (
        ("admin", Role.ADMINISTRATOR),
        ("li", Role.ACCOUNT_MANAGER),
        ("zhao", Role.ANALYST),
    ):
        made[role] = django_user_model.objects.create_user(
            username, password="x-secret-1", role=role, email=f"{username}@corp.example"
        )
    return made


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


CONTACTS = {
    "C1": [{"name": "张三", "email": "zhang@c1.example", "phone": "13800000001"}],
    "C3": [{"name": "王五", "email": "wang@c3.example"}],
    "C4": [{"name": "Alice", "email": "alice@c4.example", "phone": "+8613900000004"}],
    "C6": [{"name": "赵六", "email": "zhao@c6.example"}],
}

POLICIES = [
    {
        "tier": "A",
        "benefits": [
            {"code": "member_price", "zh": "会员价", "en": "Member price"},
            {"code": "free_delivery", "zh": "免费送货", "en": "Free delivery"},
        ],
        "discount_percent": Decimal("8"),
        "credit_limit": Decimal("1000000"),
        "dedicated_manager": True,
    },
    {
        "tier": "B",
        "benefits": [{"code": "points", "zh": "积分", "en": "Points"}],
        "payment_terms_days": 30,
    },
    {
        "tier": "C",
        "benefits": [{"code": "standard", "zh": "标准服务", "en": "Standard service"}],
        "service_team": "客服中心",
    },
]


@pytest.fixture
def company(manager, staff, customers, version, gateway):
    """The six customers graded and published as of AS_OF under the primary rule set with
    policies; contacts; owners li (C1, C3) and wang (C4); C4 reads English; C3 said no to
    e-mail; an SMS gateway."""
    ruleset = version.ruleset
    do_set_primary(manager, ruleset, "the grade customers are told")
    policies = do_save_policy_version(manager, ruleset, dt.date(2020, 1, 1), POLICIES, "terms")
    approve_policies(policies, "approved")
    for code, contacts in CONTACTS.items():
        Customer.objects.filter(code=code).update(contacts=contacts)
    Customer.objects.filter(code__in=["C1", "C3"]).update(owner=staff[Role.ACCOUNT_MANAGER])
    Customer.objects.filter(code="C4").update(owner=manager)
    do_set_preference(manager, customers["C4"], {"language": "en"}, "asked for English")
    do_set_preference(manager, customers["C3"], {"email_opt_out": True}, "asked by phone")
    do_save_endpoint(
        staff[Role.ADMINISTRATOR],
        None,
        {"name": "短信网关", "purpose": "sms", "url": gateway.url, "secret": SECRET},
        "the SMS gateway",
    )
    first = run_evaluation(manager, version, AS_OF, lang="en")
    publish_evaluation(manager, first, "Q3")
    run_worker()  # the first grades are all "new": nothing to tell
    return {"version": version, "ruleset": ruleset, "staff": staff, "customers": customers}


def order(code: str, amount: str, kind=Transaction.Kind.ORDER, day=NOVEMBER):
    Transaction.objects.create(
        customer=Customer.objects.get(code=code), date=day, amount=Decimal(amount), kind=kind
    )


def publish_q4(manager, version):
    """C4 buys (C → A), C1 and C3 return goods (A → C, B → C)."""
    order("C4", "100000.00")
    order("C1", "140000.00", Transaction.Kind.RETURN)
    order("C3", "5000.00", Transaction.Kind.RETURN)
    evaluation = run_evaluation(manager, version, NEXT_QUARTER, lang="en")
    return publish_evaluation(manager, evaluation, "Q4")


def release(manager, evaluation) -> int:
    """A manager releases the publication's messages to customers (held until then)."""
    return services.do_release_messages(manager, evaluation, "checked the wording")


def text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def subject(message) -> str:
    """The decoded subject (a long encoded subject is folded: no leading space)."""
    return str(message["Subject"]).strip()


# --- publication -------------------------------------------------------------------------


def test_publication_mails_customers_in_their_language_with_their_benefits(
    company, manager, smtp, gateway
):
    """Given customers whose tier changes at a publication, when the worker runs, then
    their messages wait "to send" and no customer is mailed; once a manager releases
    them and the worker runs again, each gets an e-mail in their language with the new
    tier's benefits and terms, and an SMS through the signed webhook; the opted-out
    customer gets no e-mail."""
    assert Message.objects.count() == 0

    q4 = publish_q4(manager, company["version"])
    run_worker()
    held = Message.objects.filter(customer__isnull=False)
    assert set(held.values_list("status", flat=True)) == {Message.Status.HELD}
    assert smtp.to("zhang@c1.example") == [] and gateway.requests == []
    assert release(manager, q4) == held.count()
    entry = AuditEntry.objects.get(action="notifications.release")
    assert (entry.actor, entry.details["messages"]) == (manager, held.count())
    run_worker()

    (down,) = smtp.to("zhang@c1.example")
    assert "客户等级调整为 C" in subject(down)
    body = text(down)
    assert "由 A 调整为 C" in body and "标准服务" in body and "客服中心" in body
    assert "2026年12月31日" in body
    assert (
        down["Message-ID"]
        == f"<tier.{q4.pk}.{company['customers']['C1'].pk}.email@tiering.example>"
    )

    (up,) = smtp.to("alice@c4.example")
    assert subject(up) == "Congratulations: 客户C4 moves up to tier A"
    body = text(up)
    assert "Dear Alice" in body and "moved up from C to A" in body
    for line in ("Member price", "Free delivery", "Discount: 8%", "Credit limit: 1,000,000.00"):
        assert line in body
    assert "A dedicated account manager" in body

    assert smtp.to("wang@c3.example") == []  # opted out of e-mail
    sms = {r["body"]["to"]: r["body"] for r in gateway.requests}
    assert set(sms) == {"13800000001", "+8613900000004"}
    assert gateway.bad_signatures == 0
    assert "客户C1 的客户等级调整为 C" in sms["13800000001"]["body"]
    assert sms["+8613900000004"]["language"] == "en"
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENT}


def draft_q4(manager, version):
    """Q4's changes (see :func:`publish_q4`) graded, not published yet."""
    order("C4", "100000.00")
    order("C1", "140000.00", Transaction.Kind.RETURN)
    order("C3", "5000.00", Transaction.Kind.RETURN)
    return run_evaluation(manager, version, NEXT_QUARTER, lang="en")


def test_publishing_shows_who_will_be_told_what_before(company, manager):
    """Given Q4 graded and not published (C4 up; C1 and C3 down), when the manager opens
    it, then the page says two customers will be told of a downgrade and one of an
    upgrade, that the messages wait for a release, and shows each template rendered for
    one of them in Chinese and English, by e-mail and SMS; an analyst, who may not handle
    messages, sees none of it; nothing is queued."""
    q4 = draft_q4(manager, company["version"])
    page = login(manager).get(reverse("evaluation_detail", args=[q4.pk]), **EN)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="customer-messages"' in body and "wait in the outbox, to send" in body
    preview = page.context["preview"]
    assert preview.customers == {Kind.TIER_UP: 1, Kind.TIER_DOWN: 2}
    shown = {(k, lang, ch): (code, subj, text) for k, lang, ch, code, subj, text in preview.samples}
    assert set(shown) == {
        (kind, lang, ch)
        for kind in (Kind.TIER_UP, Kind.TIER_DOWN)
        for lang in ("zh-hans", "en")
        for ch in ("email", "sms")
    }
    code, subj, text_ = shown[(Kind.TIER_DOWN, "zh-hans", "email")]
    assert code == "C1" and "客户等级调整为 C" in subj and "由 A 调整为 C" in text_
    code, subj, text_ = shown[(Kind.TIER_UP, "en", "email")]
    assert code == "C4" and "moves up to tier A" in subj and "Dear Alice" in text_
    assert "Member price" in text_  # the new tier's benefits
    chinese = login(manager).get(reverse("evaluation_detail", args=[q4.pk]))
    assert "发给客户的消息" in chinese.content.decode()
    analyst = login(company["staff"][Role.ANALYST]).get(reverse("evaluation_detail", args=[q4.pk]))
    assert 'id="customer-messages"' not in analyst.content.decode()
    assert not Message.objects.filter(evaluation=q4).exists()


def test_held_messages_are_released_or_cancelled_from_the_page(company, manager, smtp, gateway):
    """Given Q4 published and its messages queued, held, when the manager opens it, then
    it says how many wait, per kind and channel; cancelling without a reason is refused;
    from the outbox one message (C1's SMS) is cancelled with a reason, then the rest are
    released: the worker sends those, never the cancelled one; both are audited and the
    inbox no longer lists the publication."""
    from tiering_web.dashboard import approvals

    q4 = publish_q4(manager, company["version"])
    run_worker()
    held = Message.objects.filter(evaluation=q4, status=Message.Status.HELD)
    total = held.count()
    assert total == 4  # C1 and C4 by e-mail and SMS; C3 said no to e-mail and has no phone
    assert approvals.count(manager)["messages"] == 1
    client = login(manager)
    page = client.get(reverse("evaluation_detail", args=[q4.pk]), **EN).content.decode()
    assert "4 messages to customers wait to be sent." in page
    outbox = client.get(reverse("notification_outbox"), {"status": "held"}, **EN)
    assert "4 messages to customers wait to be released" in outbox.content.decode()

    cancel = reverse("notification_cancel", args=[q4.pk])
    refused = client.post(cancel, {"cancel-reason": " "}, **EN)
    assert refused.status_code == 302 and held.count() == total
    sms = held.get(customer__code="C1", channel=Channel.SMS)
    client.post(cancel, {"cancel-reason": "phone number is wrong", "message": sms.pk})
    sms.refresh_from_db()
    assert sms.status == Message.Status.DISCARDED and held.count() == total - 1

    response = client.post(reverse("notification_release", args=[q4.pk]), {"release-reason": "ok"})
    assert response.status_code == 302 and held.count() == 0
    run_worker()
    assert "13800000001" not in {r["body"]["to"] for r in gateway.requests}
    assert smtp.to("zhang@c1.example") and smtp.to("alice@c4.example")
    assert Message.objects.get(pk=sms.pk).status == Message.Status.DISCARDED
    actions = {
        e.action: e.details["messages"]
        for e in AuditEntry.objects.filter(action__startswith="notifications.")
    }
    assert actions == {"notifications.cancel": 1, "notifications.release": total - 1}
    assert approvals.count(manager)["messages"] == 0


def test_a_later_publication_supersedes_messages_still_held(company, manager):
    """Given Q4's messages held, when a later evaluation of the rule set is published and
    its messages queued, then Q4's are superseded (a customer is never told a tier they
    no longer have) and releasing Q4 sends nothing."""
    q4 = publish_q4(manager, company["version"])
    services.queue_publication(q4)
    order("C1", "200000.00", day=dt.date(2027, 2, 1))
    later = run_evaluation(manager, company["version"], dt.date(2027, 3, 31), lang="en")
    publish_evaluation(manager, later, "Q1")
    services.queue_publication(later)
    old = Message.objects.filter(evaluation=q4, customer__isnull=False)
    assert set(old.values_list("status", flat=True)) == {Message.Status.SUPERSEDED}
    assert release(manager, q4) == 0


def test_holding_can_be_switched_off(company, manager, settings):
    """Given TIERING_HOLD_CUSTOMER_MESSAGES off, when Q4 is published, then its messages
    are queued to be sent at once and the page's preview says so."""
    settings.TIERING_HOLD_CUSTOMER_MESSAGES = False
    q4 = draft_q4(manager, company["version"])
    page = login(manager).get(reverse("evaluation_detail", args=[q4.pk]), **EN).content.decode()
    assert "sends a message at once" in page
    publish_evaluation(manager, q4, "Q4")
    services.queue_publication(q4)
    statuses = set(Message.objects.filter(evaluation=q4).values_list("status", flat=True))
    assert statuses == {Message.Status.PENDING}


def test_held_messages_through_the_api(company, manager):
    """Given Q4 published with its messages held, when the manager reads the preview,
    cancels C4's SMS and releases the rest through the API, then each answers how many;
    an analyst gets 403; a cancel without a reason is 409 on reason; releasing a
    withdrawn publication is 409."""
    from tiering_web.accounts.api import issue_token

    def api(user) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, user, 't')}", **EN)

    q4 = publish_q4(manager, company["version"])
    services.queue_publication(q4)
    client = api(manager)
    base = f"/api/publications/{q4.pk}"
    preview = client.get(f"{base}/preview").json()
    assert preview["customers"] == {"tier_up": 1, "tier_down": 2} and preview["waiting"] == 4
    assert (
        api(company["staff"][Role.ANALYST])
        .post(f"{base}/release", {}, "application/json")
        .status_code
        == 403
    )
    no_reason = client.post(f"{base}/cancel", {"reason": ""}, "application/json")
    assert no_reason.status_code == 409
    assert [e["field"] for e in no_reason.json()["errors"]] == ["reason"]
    sms = Message.objects.get(evaluation=q4, customer__code="C4", channel=Channel.SMS)
    body = {"reason": "wrong number", "messages": [sms.pk]}
    assert client.post(f"{base}/cancel", body, "application/json").json() == {"messages": 1}
    assert client.post(f"{base}/release", {}, "application/json").json() == {"messages": 3}
    withdraw_evaluation(manager, q4, "too early")
    late = client.post(f"{base}/release", {}, "application/json")
    assert late.status_code == 409


def test_withdrawing_a_publication_withdraws_its_messages_not_sent(company, manager, smtp, gateway):
    """Given Q4 published and its messages queued but not sent, when Q4 is withdrawn,
    then they are 'withdrawn' (audited), the worker sends none of them, and the queuing
    task that was still waiting queues nothing for the withdrawn publication."""
    q4 = publish_q4(manager, company["version"])
    queued = services.queue_publication(q4)
    assert queued.queued > 0
    assert set(Message.objects.values_list("status", flat=True)) == {
        Message.Status.HELD,  # to the customers, until released
        Message.Status.PENDING,  # the account managers' digests
    }

    withdraw_evaluation(manager, q4, "published too early")
    run_worker()

    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.WITHDRAWN}
    assert Message.objects.count() == queued.queued
    assert smtp.received == [] and gateway.requests == []
    entry = AuditEntry.objects.get(action="notifications.withdraw")
    assert entry.details["messages"] == queued.queued
    assert services.queue_publication(q4).queued == 0


def test_account_managers_get_one_digest_each(company, manager, smtp, gateway):
    """Given changes among two account managers' customers, when published, then each
    manager gets one digest listing their customers' changes (C3 too: an opt-out is the
    customer's, not the manager's)."""
    publish_q4(manager, company["version"])
    run_worker()

    (digest,) = smtp.to("li@corp.example")
    assert "0 个升级、2 个降级" in subject(digest)
    body = text(digest)
    assert "C1 客户C1：A → C" in body and "C3 客户C3：B → C" in body and "C4" not in body
    (own,) = smtp.to("wang@corp.example")
    assert "C4 客户C4：C → A" in text(own) and "C1" not in text(own)
    assert Message.objects.filter(kind=Kind.DIGEST).count() == 2


def test_queuing_a_publication_twice_adds_nothing(company, manager, smtp, gateway):
    """Given a published evaluation whose messages are queued, when its messages are
    queued again (a signal delivered twice), then nothing new is queued or sent."""
    evaluation = publish_q4(manager, company["version"])
    run_worker()
    count, sent = Message.objects.count(), len(smtp.received)

    again = services.queue_publication(evaluation)
    run_worker()

    assert again.queued == 0 and again.existing == count
    assert Message.objects.count() == count and len(smtp.received) == sent


# --- delivery: back-off, dead letters, a dying worker ----------------------------------------


def sms(customer: Customer, key: str = "test:1") -> Message:
    endpoint = WebhookEndpoint.objects.get(purpose="sms")
    return Message.objects.create(
        idempotency_key=key,
        kind=Kind.TIER_UP,
        channel=Channel.SMS,
        endpoint=endpoint,
        recipient="13800000001",
        language="zh-hans",
        body="您好",
        next_attempt_at=timezone.now(),
        customer=customer,
    )


def mail(customer: Customer | None, key: str = "test:mail:1", to="zhang@c1.example") -> Message:
    return Message.objects.create(
        idempotency_key=key,
        kind=Kind.TIER_DOWN,
        channel=Channel.EMAIL,
        recipient=to,
        language="zh-hans",
        subject="等级调整",
        body="您好",
        next_attempt_at=timezone.now(),
        customer=customer,
    )


def test_a_receiver_that_fails_then_recovers_gets_the_message_once(company, gateway):
    """Given a gateway answering 500 once, when the worker sends, then the message waits
    out its back-off (not retried before), is delivered on the next attempt with the same
    key and signature scheme, and the gateway holds it once."""
    message = sms(company["customers"]["C1"])
    gateway.fail = 1
    t0 = timezone.now()

    first = sending.send_due(now=t0)
    message.refresh_from_db()
    assert (first.failed, message.status, message.attempts) == (1, Message.Status.FAILED, 1)
    assert "HTTP 500" in message.last_error
    assert message.next_attempt_at == t0 + sending.BACKOFF

    assert sending.send_due(now=t0 + dt.timedelta(seconds=30)).claimed == 0
    assert sending.send_due(now=t0 + sending.BACKOFF).sent == 1

    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.attempts == 2
    assert [r["key"] for r in gateway.requests] == [message.idempotency_key] * 2
    assert list(gateway.accepted) == [message.idempotency_key] and gateway.bad_signatures == 0
    assert sending.send_due(now=t0 + dt.timedelta(hours=1)).claimed == 0


def test_back_off_doubles_until_dead_then_a_manager_retries_it(company, gateway, manager):
    """Given a gateway that keeps failing, when the worker keeps trying, then the waits
    double (1, 2, 4... minutes) and after MAX_ATTEMPTS the message is dead, shown with its
    error in the outbox; when a manager retries it with a reason and the gateway is back,
    it is delivered."""
    message = sms(company["customers"]["C1"])
    gateway.fail = 10_000
    now, waits = timezone.now(), []
    for _ in range(sending.MAX_ATTEMPTS):
        assert sending.send_due(now=now).claimed == 1
        message.refresh_from_db()
        if message.status == Message.Status.FAILED:
            waits.append(message.next_attempt_at - now)
            now = message.next_attempt_at
    assert message.status == Message.Status.DEAD and message.attempts == sending.MAX_ATTEMPTS
    assert waits[:4] == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert sending.send_due(now=now + dt.timedelta(days=1)).claimed == 0

    client = login(manager)
    page = client.get(reverse("notification_outbox"), {"status": "dead"}, **EN)
    assert page.status_code == 200
    html = page.content.decode()
    assert "HTTP 500" in html and "Dead (gave up)" in html and "13800000001" in html

    refused = client.post(reverse("notification_retry", args=[message.pk]), {"reason": ""})
    message.refresh_from_db()
    assert refused.status_code == 302 and message.status == Message.Status.DEAD

    gateway.fail = 0
    client.post(reverse("notification_retry", args=[message.pk]), {"reason": "gateway fixed"})
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Message.Status.PENDING, 0)
    assert AuditEntry.objects.filter(
        action="notification.message.retry", reason="gateway fixed"
    ).exists()
    run_worker()  # the retry enqueued the sending task
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert list(gateway.accepted) == [message.idempotency_key]


def test_a_worker_that_dies_after_sending_loses_nothing_and_sends_nothing_twice(
    company, smtp, gateway
):
    """Given a worker that claimed an e-mail and an SMS and sent them, then died before
    recording it, when another worker runs before the lease expires, then it leaves them
    alone; after the lease expires it sends them again with the same keys, the receivers
    drop the copies, and the outbox never sends them a third time."""
    c1 = company["customers"]["C1"]
    email_message, sms_message = mail(c1), sms(c1)
    t0 = timezone.now()
    token, claimed = sending.claim(t0)
    assert {m.pk for m in claimed} == {email_message.pk, sms_message.pk}
    for message in claimed:  # sent, then the worker dies: nothing recorded
        if message.channel == Channel.EMAIL:
            sending._send_email(message)
        else:
            sending._send_webhook(message, t0)

    assert sending.send_due(now=t0 + dt.timedelta(minutes=1)).claimed == 0
    assert Message.objects.filter(status=Message.Status.SENDING).count() == 2

    after = sending.send_due(now=t0 + sending.LEASE + dt.timedelta(seconds=1))
    assert (after.claimed, after.sent) == (2, 2)
    assert sending.send_due(now=t0 + dt.timedelta(days=1)).claimed == 0

    assert len(smtp.received) == 2 and len(smtp.unique()) == 1
    assert len(gateway.requests) == 2 and list(gateway.accepted) == [sms_message.idempotency_key]
    for message in (email_message, sms_message):
        message.refresh_from_db()
        assert message.status == Message.Status.SENT and message.attempts == 2
    # the dead worker's claim can no longer write the outcome
    assert sending._finish(email_message, token, status=Message.Status.FAILED) is False


def test_a_slow_worker_does_not_send_what_another_worker_took_over(company, smtp):
    """Given a worker that claimed two messages and was too slow to reach the second
    before its lease ran out, when another worker has claimed that one meanwhile, then
    the slow worker skips it, and only the second worker sends it."""
    c1 = company["customers"]["C1"]
    first, second = mail(c1, "slow:1"), mail(c1, "slow:2", to="other@c1.example")
    t0 = timezone.now()
    slow_token, claimed = sending.claim(t0)
    assert [m.pk for m in claimed] == [first.pk, second.pk]
    assert sending.claim(t0)[1] == []  # nothing left for a concurrent worker

    assert sending.send_one(claimed[0], slow_token, t0) == Message.Status.SENT
    later = t0 + sending.LEASE + dt.timedelta(seconds=1)
    fast_token, taken = sending.claim(later)
    assert [m.pk for m in taken] == [second.pk]
    assert sending.send_one(claimed[1], slow_token, later) == "lost"
    assert sending.send_one(taken[0], fast_token, later) == Message.Status.SENT

    assert [m["To"] for m in smtp.received] == ["zhang@c1.example", "other@c1.example"]
    second.refresh_from_db()
    assert (second.status, second.attempts) == (Message.Status.SENT, 2)


def test_a_worker_process_killed_mid_send_is_replaced_without_loss_or_duplicate(
    company, smtp, settings
):
    """Given a real worker process (db_worker) sending an e-mail to an SMTP server that
    holds the transaction open, when the process is killed with SIGKILL mid-send, then the
    message stays claimed until its lease expires, and the next run delivers it; the
    receiver, keyed on Message-ID, keeps it once."""
    message = mail(company["customers"]["C1"])
    send_due_messages.enqueue()
    smtp.slow = True
    status = kill_mid_send(
        smtp.started,
        TIERING_EMAIL_HOST="127.0.0.1",
        TIERING_EMAIL_PORT=str(smtp.port),
        TIERING_EMAIL_FROM=settings.DEFAULT_FROM_EMAIL,
    )
    smtp.slow = False
    smtp.release.set()
    assert status == -signal.SIGKILL
    delivered_after_the_lease(message)
    assert len(smtp.received) == 2 and len(smtp.unique()) == 1


def test_opting_out_after_queuing_cancels_the_message(company, smtp, manager):
    """Given a queued e-mail, when the customer opts out of e-mail before it is sent,
    then it is cancelled, not sent."""
    c1 = company["customers"]["C1"]
    message = mail(c1)
    do_set_preference(manager, c1, {"email_opt_out": True}, "asked by phone")

    outcome = sending.send_due()

    message.refresh_from_db()
    assert outcome.cancelled == 1 and message.status == Message.Status.CANCELLED
    assert smtp.received == []


def test_an_smtp_server_that_is_down_is_a_failed_attempt(company, settings):
    """Given no SMTP server listening, when the worker sends, then the attempt fails with
    the connection error recorded and a retry planned."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    message = mail(company["customers"]["C1"])

    assert sending.send_due().failed == 1

    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and "Connection" in message.last_error


# --- before a scheduled evaluation; internal alerts ---------------------------------------


def test_customers_about_to_drop_are_warned_with_the_gap(company, manager, smtp):
    """Given a quarterly evaluation due on 2027-01-01 and C6 whose returns would take it
    from B to C, when warn_before_evaluation runs two weeks before, then C6 is warned (in
    Chinese) with what keeps it at B, and no one else; running it again adds nothing."""
    do_create_schedule(manager, company["ruleset"], "quarterly", dt.date(2027, 1, 1))
    order("C6", "10000.00", Transaction.Kind.RETURN)
    out = io.StringIO()

    call_command("warn_before_evaluation", days=14, today="2026-12-20", stdout=out)
    run_worker()

    assert "1 warning(s) queued" in out.getvalue()
    (warning,) = smtp.received
    assert warning["To"] == "zhao@c6.example"
    assert "保持 B 级还差 5,000.00" in subject(warning)
    assert "由 B 调整为 C" in text(warning) and "即可保持 B 级" in text(warning)

    call_command("warn_before_evaluation", days=14, today="2026-12-20", stdout=io.StringIO())
    assert Message.objects.filter(kind=Kind.WARNING).count() == 1


def test_internal_alerts_reach_the_owner_and_the_alert_webhook_once(company, smtp, gateway):
    """Given the Q3 tiers (C1 and C2 hold over 10% of revenue each; C2, a top-tier
    customer, has gone quiet against its rhythm) and an overdue revisit of top-tier C1,
    when the alerts command runs, then each alert reaches the account manager (else the
    managers) by e-mail and the alert webhook; a second run sends nothing new."""
    from django.apps import apps

    admin = company["staff"][Role.ADMINISTRATOR]
    do_save_endpoint(
        admin,
        None,
        {"name": "告警机器人", "purpose": "alert", "url": gateway.url, "secret": SECRET},
        "alerts to the chat",
    )
    task_model = apps.get_model("accountwork", "Task")
    task_model.objects.create(
        customer=company["customers"]["C1"], kind="visit", due=dt.date(2026, 11, 1)
    )

    call_command("alerts", today="2026-11-22", stdout=io.StringIO())
    run_worker()

    about = {(m.customer.code, m.idempotency_key.split(":")[1]) for m in Message.objects.all()}
    assert about == {
        ("C1", "concentration"),
        ("C2", "concentration"),
        ("C2", "churn"),
        ("C1", "revisit"),
    }
    li = smtp.to("li@corp.example")  # C1's account manager
    assert sorted(subject(m) for m in li) == [
        "【预警】客户集中度超限：C1 客户C1",
        "【预警】顶级客户回访逾期：C1 客户C1",
    ]
    managers = {m["To"] for m in smtp.unique().values() if "C2" in subject(m)}
    assert managers == {"wang@corp.example", "admin@corp.example"}  # C2 has no owner
    churn = next(m for m in smtp.to("wang@corp.example") if "流失" in subject(m))
    assert "天未下单" in text(churn)
    assert len(gateway.accepted) == 4 and gateway.bad_signatures == 0

    before = Message.objects.count()
    call_command("alerts", today="2026-11-23", stdout=io.StringIO())
    assert Message.objects.count() == before


# --- pages ------------------------------------------------------------------------------------


PAGES = ["notification_outbox", "notification_templates", "notification_endpoints"]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (
            Role.ADMINISTRATOR,
            {"notification_outbox", "notification_templates", "notification_endpoints"},
        ),
        (Role.MANAGER, {"notification_outbox", "notification_templates"}),
        (Role.ACCOUNT_MANAGER, set()),
        (Role.ANALYST, set()),
    ],
)
def test_role_matrix_of_the_pages(staff, role, allowed):
    """Given each role, when it opens each page, then it gets the page or a 403."""
    client = login(staff[role])
    for name in PAGES:
        status = client.get(reverse(name), **EN).status_code
        assert status == (200 if name in allowed else 403), (role, name, status)
    edit = reverse("notification_template_edit", args=["tier_up", "en", "email"])
    assert client.get(edit).status_code == (200 if allowed else 403)


def test_pages_ask_anonymous_visitors_to_log_in(client):
    for url in [reverse(n) for n in PAGES] + [
        reverse("notification_template_edit", args=["tier_up", "en", "email"])
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_editing_a_template_checks_it_and_new_messages_use_it(company, manager, smtp):
    """Given a manager, when they save a template with a syntax error, then the page names
    the field and the error; when they save a good one with a reason, then it is audited
    and the next tier-change e-mails use it."""
    client = login(manager)
    url = reverse("notification_template_edit", args=["tier_up", "en", "email"])

    bad = client.post(
        url, {"subject": "Hi", "body": "{% for b in benefits %}", "reason": "x"}, **EN
    )
    assert bad.status_code == 200
    assert "Template error" in bad.content.decode() and bad.context["form"].errors["body"]
    missing = client.post(url, {"subject": "Hi", "body": "x", "reason": ""}, **EN)
    assert missing.context["form"].errors["reason"]

    good = client.post(
        url,
        {
            "subject": "{{ customer_name }} → {{ new_tier }}",
            "body": "{% for b in benefits %}* {{ b }}\n{% endfor %}",
            "reason": "shorter",
        },
    )
    assert good.status_code == 302
    assert (
        MessageTemplate.objects.get(kind="tier_up", language="en", channel="email").updated_by
        == manager
    )
    assert AuditEntry.objects.filter(action="notification.template.save", reason="shorter").exists()

    q4 = publish_q4(manager, company["version"])
    run_worker()  # queues the messages, held
    release(manager, q4)
    run_worker()
    (up,) = smtp.to("alice@c4.example")
    assert subject(up) == "客户C4 → A" and text(up) == "* Member price\n* Free delivery\n"


def test_an_administrator_adds_and_edits_a_webhook_endpoint(staff):
    """Given an administrator, when they add an endpoint without a reason, then the form
    says so; with one, it is saved and audited without the secret; editing it with an
    empty secret keeps the secret."""
    client = login(staff[Role.ADMINISTRATOR])
    url = reverse("notification_endpoints")
    data = {"name": "gw", "purpose": "sms", "url": "https://sms.example/hook", "secret": "abc"}

    response = client.post(url, {**data, "active": "on"}, **EN)
    assert response.status_code == 200 and response.context["form"].errors["reason"]
    assert client.post(url, {**data, "active": "on", "reason": "new gateway"}).status_code == 302
    endpoint = WebhookEndpoint.objects.get(name="gw")
    entry = AuditEntry.objects.get(action="notification.endpoint.create")
    assert "abc" not in json.dumps(entry.details)

    edit = reverse("notification_endpoint_edit", args=[endpoint.pk])
    client.post(edit, {**data, "secret": "", "url": "https://sms2.example/hook", "reason": "moved"})
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.secret, endpoint.active) == (
        "https://sms2.example/hook",
        "abc",
        False,
    )


def test_customer_page_section_and_opt_out_toggles(
    company, manager, staff, django_assert_max_num_queries
):
    """Given messages to C1, when its account manager opens the customer page, then the
    section lists them with the recipients and offers the toggles; an analyst sees no
    address and no toggles and may not post them; the owner's opt-out is audited."""
    c1 = company["customers"]["C1"]
    mail(c1)
    owner, analyst = staff[Role.ACCOUNT_MANAGER], staff[Role.ANALYST]
    page = login(owner).get(reverse("customer_detail", args=["C1"]), **EN)
    html = page.content.decode()
    assert 'id="customer-messages"' in html and "zhang@c1.example" in html
    assert 'id="notification-preferences"' in html

    seen = login(analyst).get(reverse("customer_detail", args=["C1"]), **EN).content.decode()
    assert 'id="customer-messages"' in seen and "zhang@c1.example" not in seen
    assert 'id="notification-preferences"' not in seen

    url = reverse("notification_preferences", args=["C1"])
    assert login(analyst).post(url, {"language": "en"}).status_code == 403
    other = Customer.objects.create(code="X9", name="别人的", owner=manager)
    assert (
        login(owner).post(reverse("notification_preferences", args=[other.code]), {}).status_code
        == 404
    )

    response = login(owner).post(
        url,
        {"language": "en", "sms_opt_out": "on", "reason": "客户电话要求"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and 'id="notifications"' in response.content.decode()
    preference = Preference.objects.get(customer=c1)
    assert (preference.language, preference.sms_opt_out, preference.email_opt_out) == (
        "en",
        True,
        False,
    )
    entry = AuditEntry.objects.filter(action="notification.preference.update").latest("id")
    assert entry.reason == "客户电话要求" and entry.details["changes"]["sms_opt_out"] == [
        False,
        True,
    ]

    from tiering_web.notifications.templatetags.notifications_tags import section_context

    with django_assert_max_num_queries(2):
        section_context(c1, manager)


def test_outbox_filters_and_shows_chinese(company, manager):
    """Given messages in several states, when a manager filters the outbox by status,
    then only those show, in the page's language (Chinese by default)."""
    c1 = company["customers"]["C1"]
    mail(c1, "k:1")
    Message.objects.filter(pk=mail(c1, "k:2").pk).update(
        status=Message.Status.DEAD, last_error="boom"
    )
    client = login(manager)

    page = client.get(reverse("notification_outbox"), {"status": "dead"})
    assert [m.idempotency_key for m in page.context["page"].object_list] == ["k:2"]
    html = page.content.decode()
    assert "通知发件箱" in html and "boom" in html and "已放弃" in html
    partial = client.get(
        reverse("notification_outbox"), {"status": "pending"}, HTTP_HX_REQUEST="true"
    )
    assert "<html" not in partial.content.decode()
    assert [m.idempotency_key for m in partial.context["page"].object_list] == ["k:1"]


def test_the_sending_command_for_cron(company, smtp):
    """Given a due message, when send_notifications runs, then it is sent and counted."""
    mail(company["customers"]["C1"])
    out = io.StringIO()
    call_command("send_notifications", stdout=out)
    assert "sent 1" in out.getvalue() and len(smtp.received) == 1


def test_webhook_signature_matches_the_documented_scheme():
    """The signature a gateway recomputes: HMAC-SHA256 of "<timestamp>.<body>"."""
    body = b'{"a":1}'
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sending.signature("k", "1700000000", body) == "sha256=" + expected
