"""The navigation bar: the pages the signed-in user may open, by the role rules."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tiering_web.accounts import permissions
from tiering_web.imports.services import can_import


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    role = permissions.role(user)
    links = [
        ("dashboard", _("Dashboard"), True),
        ("customer_list", _("Customers"), True),
        ("ruleset_list", _("Rule sets"), True),
        ("evaluation_list", _("Evaluations"), role is not None),
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
        nav.append({"url": url, "label": label, "active": active})
    return {"nav": nav}
