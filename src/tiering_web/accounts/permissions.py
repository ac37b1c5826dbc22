"""Who may see and do what: the role rules in one place, used by views, the API and
exports alike.

================  =========  =========  ===============  =========
                  admin      manager    account manager  analyst
================  =========  =========  ===============  =========
see customers     all        all        own only         all
edit customers    all        all        own only         no
contact data      yes        yes        yes (own)        no
edit rule sets    yes        yes        no               no
review rule sets  yes        yes        no               yes
run evaluations   yes        yes        no               yes (drafts only)
publish/discard   yes        yes        no               no
set overrides     yes        yes        no               no
issue API tokens  anyone's   own        own              own
import files      yes        yes        no               no
manage users      yes        see list   no               no
audit log         yes        yes        no               no
================  =========  =========  ===============  =========

Imports are decided by :func:`tiering_web.imports.services.can_import`; the last two rows
by :func:`can_manage_users`/:func:`can_view_users` and :func:`can_view_audit` below.

"Own" customers are those whose ``owner`` is the user. A superuser counts as an
administrator; an inactive user may do nothing.
"""

from __future__ import annotations

from django.db.models import QuerySet

from tiering_web.accounts.models import Role
from tiering_web.customers.models import Customer


def role(user) -> str | None:
    """The user's effective role (``None`` for anonymous or inactive users)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMINISTRATOR
    return user.role


def _is(user, *roles: str) -> bool:
    return role(user) in roles


def visible_customers(user, queryset: QuerySet | None = None) -> QuerySet:
    """The customers ``user`` may see: all of them, or an account manager's own."""
    queryset = Customer.objects.all() if queryset is None else queryset
    if _is(user, Role.ADMINISTRATOR, Role.MANAGER, Role.ANALYST):
        return queryset
    if _is(user, Role.ACCOUNT_MANAGER):
        return queryset.filter(owner=user)
    return queryset.none()


def can_see_customer(user, customer: Customer) -> bool:
    if _is(user, Role.ADMINISTRATOR, Role.MANAGER, Role.ANALYST):
        return True
    return _is(user, Role.ACCOUNT_MANAGER) and customer.owner_id == user.pk


def can_edit_customer(user, customer: Customer) -> bool:
    """Administrators and managers edit any customer, account managers their own (also a
    new one they are about to own); analysts none."""
    if _is(user, Role.ADMINISTRATOR, Role.MANAGER):
        return True
    return _is(user, Role.ACCOUNT_MANAGER) and customer.owner_id == user.pk


def can_deactivate_customers(user) -> bool:
    """Only administrators and managers deactivate (or reactivate) a customer: it ends
    the customer's tiers and its account manager's work for it."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER)


def can_reassign_owner(user) -> bool:
    """Only administrators and managers hand a customer to another account manager."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER)


def sees_contacts(user) -> bool:
    """Analysts get no personal contact data."""
    return role(user) is not None and not _is(user, Role.ANALYST)


def can_edit_rules(user) -> bool:
    """Write rule-set versions, approve them (not one's own), make one primary."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER)


def can_review_rules(user) -> bool:
    """Sign a rule-set version as its reviewer (审核人; not one's own): those who write
    or approve rules, and analysts, who read what they do to the grades."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER, Role.ANALYST)


def can_run_evaluation(user) -> bool:
    """Running only makes a draft, so analysts may run one too; it grades every customer,
    so account managers may not."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER, Role.ANALYST)


def can_publish(user) -> bool:
    """Publish or discard a draft evaluation."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER)


def can_override(user) -> bool:
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER)


def can_issue_token(actor, user) -> bool:
    """Everyone issues tokens for themselves; administrators for anyone."""
    if role(actor) is None:
        return False
    return actor.pk == user.pk or _is(actor, Role.ADMINISTRATOR)


def can_manage_users(user) -> bool:
    """Create and edit users, reset their passwords, deactivate them: administrators."""
    return _is(user, Role.ADMINISTRATOR)


def can_view_users(user) -> bool:
    """The user list: administrators, and managers (to see their account managers)."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER)


def can_revoke_token(actor, user) -> bool:
    """Revoke ``user``'s API token: the same people who may issue one for them."""
    return can_issue_token(actor, user)


def can_view_audit(user) -> bool:
    """The audit log: administrators and managers."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER)


def can_edit_policies(user) -> bool:
    """Write and approve tier policy versions: administrators and managers (everyone
    signed in reads them; the author of a version may not approve it)."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER)


def can_plan_account_work(user) -> bool:
    """Account managers' work: set capacities and seniority, decide assignment proposals,
    transfer customers, set revisit plans: administrators and managers."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER)


def has_task_list(user) -> bool:
    """Revisit tasks: account managers keep their own list; administrators and managers
    keep theirs and read anyone's; analysts have none."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER, Role.ACCOUNT_MANAGER)


def can_complete_task(user, task) -> bool:
    """A task is completed by its owner, or by an administrator or manager."""
    if _is(user, Role.ADMINISTRATOR, Role.MANAGER):
        return True
    return _is(user, Role.ACCOUNT_MANAGER) and task.owner_id == user.pk


def can_query_priority(user) -> bool:
    """The call-centre priority lookup: any active user (an IVR gets its own user); an
    account manager hears only of their own customers (see callcentre.services)."""
    return role(user) is not None


def can_record_calls(user) -> bool:
    """Record call logs (API, CSV import) and rebuild the phone index."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER)


def can_view_sla(user) -> bool:
    """The call-centre SLA report: administrators, managers and analysts."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER, Role.ANALYST)


def can_view_outbox(user) -> bool:
    """The notification outbox (messages, errors, retrying a dead one) and the message
    templates: administrators and managers."""
    return _is(user, Role.ADMINISTRATOR, Role.MANAGER)


def can_manage_webhooks(user) -> bool:
    """Webhook endpoints hold signing secrets: administrators only."""
    return _is(user, Role.ADMINISTRATOR)


def can_set_notification_preferences(user, customer: Customer) -> bool:
    """A customer's opt-outs and message language: administrators, managers, and the
    customer's own account manager."""
    return can_edit_customer(user, customer)
