import yaml
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from tiering_web.accounts.permissions import can_edit_rules, can_review_rules, role
from tiering_web.errors import errors_to_form
from tiering_web.rulesets.display import readable
from tiering_web.rulesets.forms import (
    METHOD_CHOICES,
    ApproveForm,
    PrimaryForm,
    ReviewForm,
    RuleEditor,
    RuleSetCreateForm,
    WhatIfForm,
    YamlForm,
    initial_from_definition,
    metric_choices,
)
from tiering_web.rulesets.jobs import check_whatif
from tiering_web.rulesets.models import RuleSet, RuleSetVersion, WhatIfRun
from tiering_web.rulesets.services import (
    do_approve_ruleset_version,
    do_create_ruleset,
    do_queue_whatif,
    do_review_ruleset_version,
    do_save_ruleset_version,
    do_set_primary,
)
from tiering_web.rulesets.whatif import WhatIfResult, baseline_version

#: How often (seconds) a pending what-if's box asks for its progress.
POLL_SECONDS = 1


def _may_view(user) -> None:
    if role(user) is None:
        raise PermissionDenied


def _may_edit(user) -> None:
    if not can_edit_rules(user):
        raise PermissionDenied


def _yaml(definition: dict) -> str:
    return yaml.safe_dump(definition, allow_unicode=True, sort_keys=False, default_flow_style=None)


def _lang() -> str:
    return get_language() or "en"


@login_required
def ruleset_list(request):
    _may_view(request.user)
    rulesets = RuleSet.objects.prefetch_related(
        Prefetch("versions", queryset=RuleSetVersion.objects.order_by("-number"))
    )
    rows = []
    for ruleset in rulesets:
        versions = list(ruleset.versions.all())
        approved = [v for v in versions if v.status == RuleSetVersion.Status.APPROVED]
        latest = versions[0] if versions else None
        definition = latest.definition if latest else {}
        method = next((label for m, label in METHOD_CHOICES if m in definition), "")
        rows.append(
            {
                "ruleset": ruleset,
                "latest": latest,
                "approved": approved[0] if approved else None,
                "method": method,
            }
        )
    context = {"rows": rows, "can_edit": can_edit_rules(request.user)}
    return render(request, "rulesets/ruleset_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def ruleset_create(request):
    _may_edit(request.user)
    form = RuleSetCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ruleset = do_create_ruleset(
                request.user, data["name"], data["reason"], data["description"]
            )
        except ValidationError as e:
            form.add_error(None, e)
        else:
            messages.success(request, _("Rule set created: now give it its first version."))
            return redirect("ruleset_edit", pk=ruleset.pk)
    return render(request, "rulesets/ruleset_create.html", {"form": form})


def _signature(user, version: RuleSetVersion, forms: dict):
    """What ``user`` may sign on ``version``: ``("review", form)``, ``("approve", form)``,
    or ``(None, why not)`` (a sentence; empty when there is nothing to sign)."""
    Status = RuleSetVersion.Status
    if version.pk in forms:  # a signature refused: its form shows why
        form = forms[version.pk]
        return ("review" if isinstance(form, ReviewForm) else "approve"), form
    mine = version.author_id == user.pk
    if version.status == Status.DRAFT:
        if not can_review_rules(user):
            return None, _("Awaiting its reviewer")
        if mine:
            return None, _("You wrote it: someone else reviews it")
        return "review", forms.get(version.pk) or ReviewForm(auto_id=f"id_v{version.number}_%s")
    if version.status == Status.REVIEWED:
        if not can_edit_rules(user):
            return None, _("Awaiting its approver")
        if mine:
            return None, _("You wrote it: someone else approves it")
        if version.reviewer_id == user.pk:
            return None, _("You reviewed it: someone else approves it")
        form = forms.get(version.pk) or ApproveForm(
            version=version, auto_id=f"id_v{version.number}_%s"
        )
        return "approve", form
    return None, ""


def _detail_context(request, ruleset: RuleSet, sign_forms=None, primary_form=None):
    versions = list(
        ruleset.versions.select_related("author", "reviewer", "approver").order_by("-number")
    )
    selected = versions[0] if versions else None
    wanted = request.GET.get("version")
    if wanted and wanted.isdigit():
        selected = next((v for v in versions if v.number == int(wanted)), selected)
    can_edit = can_edit_rules(request.user)
    sign_forms = sign_forms or {}
    return {
        "ruleset": ruleset,
        "versions": [(v, *_signature(request.user, v, sign_forms)) for v in versions],
        "selected": selected,
        "readable": readable(selected.definition, _lang()) if selected else None,
        "yaml": _yaml(selected.definition) if selected else "",
        "can_edit": can_edit,
        "can_sign": can_review_rules(request.user),
        "primary_form": primary_form
        or (PrimaryForm(auto_id="id_primary_%s") if can_edit else None),
    }


@login_required
def ruleset_detail(request, pk):
    _may_view(request.user)
    ruleset = get_object_or_404(RuleSet, pk=pk)
    return render(request, "rulesets/ruleset_detail.html", _detail_context(request, ruleset))


def _editor_context(request, ruleset, editor, *, whatif_form=None, yaml_form=None):
    base = ruleset.latest_version()
    today = timezone.localdate()
    return {
        "ruleset": ruleset,
        "base": base,
        "editor": editor,
        "metrics": metric_choices(_lang()),
        "whatif_form": whatif_form or WhatIfForm(initial={"whatif_as_of": today}),
        "yaml_form": yaml_form
        or YamlForm(initial={"text": _yaml(base.definition) if base else ""}),
        "baseline": baseline_version(ruleset),
    }


def _base_initial(ruleset: RuleSet, method: str | None) -> dict:
    base = ruleset.latest_version()
    initial = initial_from_definition(base.definition if base else None, method)
    if not initial["common"]["name"]:
        initial["common"]["name"] = ruleset.name
    return initial


def _carry(editor: RuleEditor, ruleset: RuleSet) -> RuleEditor:
    """Keys the forms do not edit (a rule file's ``columns``) stay as they were."""
    base = ruleset.latest_version()
    if base and base.definition.get("columns"):
        editor.carry_columns = base.definition["columns"]
    return editor


@login_required
@require_http_methods(["GET", "POST"])
def ruleset_edit(request, pk):
    _may_edit(request.user)
    ruleset = get_object_or_404(RuleSet, pk=pk)
    method = request.GET.get("method")
    yaml_form = None
    if request.method == "GET":
        editor = RuleEditor(initial=_base_initial(ruleset, method), method=method)
        if request.htmx and method:
            return render(
                request, "rulesets/_method_fields.html", {"editor": editor, "ruleset": ruleset}
            )
    elif request.POST.get("mode") == "yaml":
        editor = RuleEditor(initial=_base_initial(ruleset, None))
        yaml_form = YamlForm(request.POST)
        if yaml_form.is_valid():
            data = yaml_form.cleaned_data
            try:
                version = do_save_ruleset_version(
                    request.user,
                    ruleset,
                    data["text"],
                    data["reason"],
                    effective_date=data["effective_date"],
                )
            except ValidationError as e:
                yaml_form.add_error(None, [m for ms in e.message_dict.values() for m in ms])
            else:
                return _saved(request, version)
    else:
        add_row = request.POST.get("add_row")
        if add_row in ("factors", "tiers"):
            editor = RuleEditor(request.POST, add_row=add_row)
            if request.htmx:
                return render(
                    request, "rulesets/_method_fields.html", {"editor": editor, "ruleset": ruleset}
                )
        else:
            editor = _carry(RuleEditor(request.POST), ruleset)
            if editor.is_valid():
                data = editor.common.cleaned_data
                try:
                    version = do_save_ruleset_version(
                        request.user,
                        ruleset,
                        editor.definition,
                        data["reason"],
                        effective_date=data["effective_date"],
                    )
                except ValidationError as e:
                    editor.problems.extend(m for ms in e.message_dict.values() for m in ms)
                else:
                    return _saved(request, version)
    context = _editor_context(request, ruleset, editor, yaml_form=yaml_form)
    return render(request, "rulesets/ruleset_edit.html", context)


def _saved(request, version: RuleSetVersion):
    messages.success(
        request,
        _("Version %(number)s saved as a draft: it needs approval before it takes effect.")
        % {"number": version.number},
    )
    return redirect("ruleset_detail", pk=version.ruleset_id)


@login_required
@require_POST
def ruleset_whatif(request, pk):
    _may_edit(request.user)
    ruleset = get_object_or_404(RuleSet, pk=pk)
    editor = _carry(RuleEditor(request.POST, purpose="whatif"), ruleset)
    whatif_form = WhatIfForm(request.POST)
    valid = editor.is_valid()
    dated = whatif_form.is_valid()
    run = None
    if valid and dated:
        try:
            run = do_queue_whatif(
                request.user, ruleset, editor.definition, whatif_form.cleaned_data["whatif_as_of"]
            )
        except ValidationError as e:
            editor.problems.extend(m for ms in e.message_dict.values() for m in ms)
            valid = False
    if request.htmx:
        if not valid:
            # put the engine's problems on the fields: swap the whole editor
            context = _editor_context(request, ruleset, editor, whatif_form=whatif_form)
            context["whatif_invalid"] = True
            response = render(request, "rulesets/_editor.html", context)
            return reswap(retarget(response, "#rule-editor"), "outerHTML")
        context = {
            "ruleset": ruleset,
            "whatif_form": whatif_form,
            "baseline": baseline_version(ruleset),
            **(_run_context(run) if run is not None else {}),
        }
        return render(request, "rulesets/_whatif.html", context)
    if run is not None:
        return redirect("ruleset_whatif_run", pk=ruleset.pk, run=run.pk)
    context = _editor_context(request, ruleset, editor, whatif_form=whatif_form)
    context["whatif_invalid"] = not valid
    return render(request, "rulesets/ruleset_edit.html", context)


def _run_context(run: WhatIfRun) -> dict:
    done = run.status == WhatIfRun.Status.DONE and run.result is not None
    return {
        "run": run,
        "poll_seconds": POLL_SECONDS,
        "result": WhatIfResult.from_json(run.result) if done else None,
        "error": run.error(_lang()) if run.status == WhatIfRun.Status.FAILED else "",
    }


@login_required
@require_GET
def ruleset_whatif_run(request, pk, run):
    """A what-if's progress, then its result: the box the editor polls (htmx), or a page
    of its own (without JavaScript, or from a link)."""
    _may_edit(request.user)
    runs = WhatIfRun.objects.select_related("ruleset", "baseline", "requested_by")
    whatif = check_whatif(get_object_or_404(runs, pk=run, ruleset_id=pk))
    context = {"ruleset": whatif.ruleset, **_run_context(whatif)}
    if request.htmx and not request.htmx.boosted:
        return render(request, "rulesets/_whatif_run.html", context)
    return render(request, "rulesets/whatif_run.html", context)


def _sign(request, pk, number, form_class, sign, done_message):
    """A signature posted from a version's row: the signer is the user who clicks."""
    ruleset = get_object_or_404(RuleSet, pk=pk)
    version = get_object_or_404(RuleSetVersion, ruleset=ruleset, number=number)
    kwargs = {"version": version} if form_class is ApproveForm else {}
    form = form_class(request.POST, auto_id=f"id_v{number}_%s", **kwargs)
    if form.is_valid():
        try:
            sign(version, form.cleaned_data)
        except ValidationError as e:
            errors_to_form(form, e)
        else:
            messages.success(request, done_message % {"number": version.number})
            return redirect("ruleset_detail", pk=ruleset.pk)
    context = _detail_context(request, ruleset, sign_forms={version.pk: form})
    return render(request, "rulesets/ruleset_detail.html", context)


@login_required
@require_POST
def ruleset_review(request, pk, number):
    """The signed-in user signs a draft as its reviewer."""
    if not can_review_rules(request.user):
        raise PermissionDenied

    def sign(version, data):
        do_review_ruleset_version(request.user, version, data["reason"])

    done = _("Version %(number)s reviewed: it now awaits its approver.")
    return _sign(request, pk, number, ReviewForm, sign, done)


@login_required
@require_POST
def ruleset_approve(request, pk, number):
    """The signed-in user signs a reviewed version as its approver."""
    _may_edit(request.user)

    def sign(version, data):
        do_approve_ruleset_version(
            request.user, version, data["reason"], effective_date=data["effective_date"]
        )

    return _sign(request, pk, number, ApproveForm, sign, _("Version %(number)s approved."))


@login_required
@require_POST
def ruleset_set_primary(request, pk):
    _may_edit(request.user)
    ruleset = get_object_or_404(RuleSet, pk=pk)
    form = PrimaryForm(request.POST, auto_id="id_primary_%s")
    if form.is_valid():
        try:
            do_set_primary(
                request.user, ruleset, form.cleaned_data["reason"], require_approved=True
            )
        except ValidationError as e:
            form.add_error(None, e)
        else:
            text = _("%(name)s is now the primary rule set.") % {"name": ruleset}
            messages.success(request, text)
            return redirect("ruleset_detail", pk=ruleset.pk)
    context = _detail_context(request, ruleset, primary_form=form)
    return render(request, "rulesets/ruleset_detail.html", context)
