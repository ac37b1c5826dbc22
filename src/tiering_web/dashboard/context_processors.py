"""The navigation bar: the pages the signed-in user may open, by the role rules, and how
much awaits their signature (one query, :func:`tiering_web.dashboard.approvals.count`)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tiering_web.accounts import permissions
from tiering_web.dashboard import approvals
from tiering_web.imports.services import can_import


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    role = permissions.role(user)
    inbox = approvals.count(user) if approvals.has_inbox(user) else None
    links = [
        ("dashboard", _("Dashboard"), True),
        ("approvals_inbox", _("Awaiting me"), inbox is not None),
        ("customer_list", _("Customers"), True),
        ("ruleset_list", _("Rule sets"), True),
        ("evaluation_list", _("Evaluations"), role is not None),
        ("policy_list", _("Tier policies"), True),
        ("work_tasks", _("My tasks"), permissions.has_task_list(user)),
        ("service_hub", _("Service"), bool(service_links(user))),
        ("import_list", _("Imports"), can_import(user)),
        ("user_list", _("Users"), permissions.can_view_users(user)),
        ("audit_list", _("Audit log"), permissions.can_view_audit(user)),
    ]
    path = request.path
    nav = []
    for name, label, allowed in links:
        if not allowed:
            continue
        url = reverse(name)
        active = path == url if url == "/" else path.startswith(url)
        link = {"url": url, "label": label, "active": active}
        if name == "approvals_inbox":
            link["count"] = inbox["total"]
        nav.append(link)
    return {"nav": nav}


def service_links(user) -> list[tuple[str, object, object]]:
    """The serving-the-tiers pages ``user`` may open: (URL name, title, what it is for)."""
    links = [
        (
            "work_proposals",
            _("Assignment proposals"),
            _("Customers whose tier needs a dedicated account manager, proposed by capacity"),
            permissions.can_plan_account_work(user),
        ),
        (
            "work_managers",
            _("Account managers and revisit plans"),
            _("Seniority, capacity per tier and load; what each tier is visited for"),
            permissions.can_plan_account_work(user),
        ),
        (
            "work_stale",
            _("Stale records"),
            _("Customers whose profile has not been updated for a long time"),
            True,
        ),
        (
            "notification_outbox",
            _("Notifications"),
            _("Messages to customers and staff: sent, waiting, failed"),
            permissions.can_view_outbox(user),
        ),
        (
            "notification_templates",
            _("Message templates"),
            _("The wording of each message, in Chinese and English"),
            permissions.can_view_outbox(user),
        ),
        (
            "notification_endpoints",
            _("Webhooks"),
            _("The SMS gateway and alert receivers, signed"),
            permissions.can_manage_webhooks(user),
        ),
        (
            "callcentre_sla",
            _("Call-centre service levels"),
            _("Calls answered in time per tier against the target"),
            permissions.can_view_sla(user),
        ),
    ]
    return [(name, title, help_) for name, title, help_, allowed in links if allowed]
