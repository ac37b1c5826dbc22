from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tiering_web.accounts.permissions import can_edit_policies, role
from tiering_web.errors import errors_to_form
from tiering_web.policies.display import changes_text, terms_table
from tiering_web.policies.forms import (
    COMMERCIAL,
    ApproveForm,
    BenefitFormSet,
    OnDateForm,
    PolicyEditor,
)
from tiering_web.policies.models import PolicyVersion
from tiering_web.policies.services import (
    do_approve_policy_version,
    do_save_policy_version,
    rulesets_primary_first,
    tier_names,
    version_changes,
    version_in_force,
)
from tiering_web.rulesets.models import RuleSet


def _may_view(user) -> None:
    if role(user) is None:
        raise PermissionDenied


def _may_edit(user) -> None:
    if not can_edit_policies(user):
        raise PermissionDenied


def _versions(ruleset: RuleSet):
    return ruleset.policy_versions.select_related("author", "approver").order_by("-number")


@login_required
@require_GET
def policy_list(request):
    _may_view(request.user)
    today = timezone.localdate()
    date_form = OnDateForm(request.GET or None, initial={"on": today})
    on = today
    if date_form.is_bound and date_form.is_valid() and date_form.cleaned_data["on"]:
        on = date_form.cleaned_data["on"]
    sections = []
    for ruleset in rulesets_primary_first():
        current = version_in_force(ruleset, today)
        shown = current if on == today else version_in_force(ruleset, on)
        sections.append(
            {
                "ruleset": ruleset,
                "current": current,
                "shown": shown,
                "terms": terms_table(list(shown.tiers.all())) if shown else None,
                "versions": list(_versions(ruleset)),
            }
        )
    context = {
        "sections": sections,
        "date_form": date_form,
        "on": on,
        "today": today,
        "can_edit": can_edit_policies(request.user),
    }
    return render(request, "policies/policy_list.html", context)


def _detail_context(request, version: PolicyVersion, approve_form=None) -> dict:
    ruleset = version.ruleset
    current = version_in_force(ruleset)
    can_edit = can_edit_policies(request.user)
    changes = None
    if current is not None and current.pk != version.pk:
        changes = [
            (tier, old is None, new is None, changes_text(found, old, new))
            for tier, old, new, found in version_changes(version, current)
        ]
    draft = version.status == PolicyVersion.Status.DRAFT
    return {
        "ruleset": ruleset,
        "version": version,
        "current": current,
        "terms": terms_table(list(version.tiers.all())),
        "changes": changes,
        "can_edit": can_edit,
        "approve_form": (approve_form or ApproveForm()) if can_edit and draft else None,
        "own_version": version.author_id == request.user.pk,
    }


def _version(pk: int, number: int) -> PolicyVersion:
    return get_object_or_404(
        PolicyVersion.objects.select_related("ruleset", "author", "approver"),
        ruleset_id=pk,
        number=number,
    )


@login_required
@require_GET
def policy_detail(request, pk, number):
    _may_view(request.user)
    version = _version(pk, number)
    return render(request, "policies/policy_detail.html", _detail_context(request, version))


def _latest(ruleset: RuleSet) -> PolicyVersion | None:
    return ruleset.policy_versions.order_by("-number").first()


@login_required
@require_http_methods(["GET", "POST"])
def policy_edit(request, pk):
    _may_edit(request.user)
    ruleset = get_object_or_404(RuleSet, pk=pk)
    tiers = tier_names(ruleset)
    base = _latest(ruleset)
    editor = PolicyEditor(tiers, request.POST or None, base=base)
    if request.method == "POST" and tiers and editor.is_valid():
        data = editor.version.cleaned_data
        try:
            version = do_save_policy_version(
                request.user,
                ruleset,
                data["effective_date"],
                editor.rows(),
                data["reason"],
                note=data["note"],
            )
        except ValidationError as e:
            editor.service_problems = e.messages
        else:
            messages.success(
                request,
                _("Version %(number)s saved as a draft: another person must approve it.")
                % {"number": version.number},
            )
            return redirect("policy_detail", pk=ruleset.pk, number=version.number)
    context = {
        "ruleset": ruleset,
        "editor": editor,
        "base": base,
        "tiers": tiers,
        "commercial": COMMERCIAL,
    }
    return render(request, "policies/policy_edit.html", context)


@login_required
@require_GET
def policy_benefit_row(request, pk):
    """One more empty benefit row for a tier block (htmx), with the block's form count."""
    _may_edit(request.user)
    get_object_or_404(RuleSet, pk=pk)
    index = request.GET.get("tier", "")
    if not index.isdigit():
        raise Http404
    prefix = f"t{index}-b"
    count = request.GET.get(f"{prefix}-TOTAL_FORMS", "")
    if not count.isdigit() or int(count) >= 50:
        raise Http404
    formset = BenefitFormSet(prefix=prefix)
    context = {
        "form": formset._construct_form(int(count)),
        "prefix": prefix,
        "count": int(count) + 1,
    }
    return render(request, "policies/_benefit_row.html", context)


@login_required
@require_POST
def policy_approve(request, pk, number):
    _may_edit(request.user)
    version = _version(pk, number)
    form = ApproveForm(request.POST)
    if form.is_valid():
        try:
            do_approve_policy_version(
                request.user,
                version,
                form.cleaned_data["reason"],
                allow_past=False,
            )
        except ValidationError as e:
            errors_to_form(form, e)
        else:
            messages.success(
                request,
                _("Version %(number)s approved: in force from %(date)s.")
                % {
                    "number": version.number,
                    "date": date_format(version.effective_date, "SHORT_DATE_FORMAT"),
                },
            )
            return redirect("policy_detail", pk=pk, number=number)
    version.refresh_from_db()
    return render(
        request, "policies/policy_detail.html", _detail_context(request, version, approve_form=form)
    )
