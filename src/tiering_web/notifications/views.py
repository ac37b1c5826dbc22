from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tiering_web.accounts.permissions import (
    can_manage_webhooks,
    can_set_notification_preferences,
    can_view_outbox,
    visible_customers,
)
from tiering_web.customers.pagination import CappedPaginator
from tiering_web.errors import errors_to_form
from tiering_web.evaluations.models import Evaluation
from tiering_web.notifications import wording
from tiering_web.notifications.forms import (
    EndpointForm,
    OutboxFilterForm,
    PreferenceForm,
    ReasonForm,
    TemplateForm,
)
from tiering_web.notifications.models import (
    Channel,
    Kind,
    Language,
    Message,
    MessageTemplate,
    WebhookEndpoint,
)
from tiering_web.notifications.services import (
    do_cancel_messages,
    do_release_messages,
    do_reset_template,
    do_retry_message,
    do_save_endpoint,
    do_save_template,
    do_set_preference,
)
from tiering_web.notifications.templatetags.notifications_tags import section_context

PER_PAGE = 50


@login_required
def notification_outbox(request):
    if not can_view_outbox(request.user):
        raise PermissionDenied
    form = OutboxFilterForm(request.GET or None)
    rows = form.filter(Message.objects.select_related("customer", "endpoint"))
    paginator = CappedPaginator(rows, PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    counts = {
        status: Message.objects.filter(status=status).count()
        for status in (
            Message.Status.FAILED,
            Message.Status.DEAD,
            Message.Status.SENDING,
            Message.Status.HELD,
        )
    }
    held_evaluations = []
    if counts[Message.Status.HELD]:
        held = Message.objects.filter(status=Message.Status.HELD).values("evaluation")
        held_evaluations = list(
            Evaluation.objects.filter(pk__in=held).select_related("ruleset_version__ruleset")
        )
    context = {
        "form": form,
        "page": page,
        "paginator": paginator,
        "query": query.urlencode(),
        "counts": counts,
        "held_evaluations": held_evaluations,
        "can_manage_webhooks": can_manage_webhooks(request.user),
    }
    template = "notifications/outbox.html"
    if request.htmx and not request.htmx.boosted:
        template = "notifications/_outbox_table.html"
    return render(request, template, context)


@login_required
@require_POST
def notification_retry(request, pk):
    if not can_view_outbox(request.user):
        raise PermissionDenied
    message = get_object_or_404(Message, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason to retry message #%(pk)s.") % {"pk": pk})
        return redirect("notification_outbox")
    try:
        do_retry_message(request.user, message, form.cleaned_data["reason"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Message #%(pk)s will be sent again.") % {"pk": pk})
    return redirect("notification_outbox")


def _held_decision(request, pk, prefix: str):
    """The evaluation and the reason of a release or cancel posted from its page or the
    outbox; ``None`` for the reason when it is missing (the page says so)."""
    if not can_view_outbox(request.user):
        raise PermissionDenied
    evaluation = get_object_or_404(Evaluation, pk=pk)
    form = ReasonForm(request.POST, prefix=prefix)
    reason = form.cleaned_data["reason"] if form.is_valid() else None
    return evaluation, reason


def _back(request, evaluation):
    if request.POST.get("message"):
        return redirect("notification_outbox")
    return redirect(reverse("evaluation_detail", args=[evaluation.pk]) + "#customer-messages")


@login_required
@require_POST
def notification_release(request, pk):
    """Release a publication's held messages: they are sent now."""
    evaluation, reason = _held_decision(request, pk, "release")
    try:
        released = do_release_messages(request.user, evaluation, reason or "")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("%(n)s message(s) released: sending now.") % {"n": released})
    return _back(request, evaluation)


@login_required
@require_POST
def notification_cancel(request, pk):
    """Cancel a publication's held messages (all, or the one named by ``message``)."""
    evaluation, reason = _held_decision(request, pk, "cancel")
    ids = None
    if wanted := request.POST.get("message"):
        if not wanted.isdigit():
            raise Http404
        ids = [int(wanted)]
    try:
        cancelled = do_cancel_messages(request.user, evaluation, reason or "", ids=ids)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, _("%(n)s message(s) cancelled: they will not be sent.") % {"n": cancelled}
        )
    return _back(request, evaluation)


@login_required
def notification_templates(request):
    if not can_view_outbox(request.user):
        raise PermissionDenied
    saved = {(t.kind, t.language, t.channel): t for t in MessageTemplate.objects.all()}
    rows = []
    for kind, label in Kind.choices:
        # integration events are data, not worded messages: no template
        for channel in wording.CHANNELS.get(kind, ()):
            for language, language_label in Language.choices:
                key = (kind, language, channel)
                template = saved.get(key)
                subject, _body = (
                    (template.subject, template.body) if template else wording.DEFAULTS[key]
                )
                rows.append(
                    {
                        "kind": kind,
                        "kind_label": label,
                        "channel": channel,
                        "channel_label": Channel(channel).label,
                        "language": language,
                        "language_label": language_label,
                        "subject": subject,
                        "saved": template,
                    }
                )
    return render(request, "notifications/templates.html", {"rows": rows})


@login_required
def notification_template_edit(request, kind, language, channel):
    if not can_view_outbox(request.user):
        raise PermissionDenied
    key = (kind, language, channel)
    if key not in wording.DEFAULTS:
        raise Http404
    saved = MessageTemplate.objects.filter(kind=kind, language=language, channel=channel).first()
    subject, body = (saved.subject, saved.body) if saved else wording.DEFAULTS[key]
    form = TemplateForm(request.POST or None, initial={"subject": subject, "body": body})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if "reset" in request.POST:
                if saved is None:
                    raise ValidationError(_("This message already uses the built-in wording."))
                do_reset_template(request.user, saved, data["reason"])
            else:
                do_save_template(
                    request.user,
                    kind,
                    language,
                    channel,
                    data["subject"],
                    data["body"],
                    data["reason"],
                )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, _("The wording is saved."))
            return redirect("notification_templates")
    context = {
        "form": form,
        "kind": Kind(kind),
        "language": Language(language),
        "channel": Channel(channel),
        "saved": saved,
        "variables": wording.VARIABLES[kind],
        "help": wording.HELP,
    }
    return render(request, "notifications/template_edit.html", context)


@login_required
def notification_endpoints(request):
    if not can_manage_webhooks(request.user):
        raise PermissionDenied
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            do_save_endpoint(request.user, None, form.endpoint_data(), form.cleaned_data["reason"])
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, _("Webhook endpoint added."))
            return redirect("notification_endpoints")
    endpoints = WebhookEndpoint.objects.all()
    return render(request, "notifications/endpoints.html", {"form": form, "endpoints": endpoints})


@login_required
def notification_endpoint_edit(request, pk):
    if not can_manage_webhooks(request.user):
        raise PermissionDenied
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    form = EndpointForm(request.POST or None, endpoint=endpoint)
    if request.method == "POST" and form.is_valid():
        try:
            do_save_endpoint(
                request.user, endpoint, form.endpoint_data(), form.cleaned_data["reason"]
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, _("Webhook endpoint saved."))
            return redirect("notification_endpoints")
    return render(request, "notifications/endpoint_edit.html", {"form": form, "endpoint": endpoint})


@login_required
@require_POST
def notification_preferences(request, code):
    customer = get_object_or_404(visible_customers(request.user), code=code)
    if not can_set_notification_preferences(request.user, customer):
        raise PermissionDenied
    form = PreferenceForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            data = dict(form.cleaned_data)
            reason = data.pop("reason").strip() or _("changed on the customer page")
            do_set_preference(request.user, customer, data, reason)
        except ValidationError as problem:
            error = " ".join(problem.messages)
    else:
        error = "; ".join(f"{field}: {' '.join(e)}" for field, e in form.errors.items())
    if request.htmx:
        context = section_context(customer, request.user)
        context["error"] = error
        return render(request, "notifications/_customer_section.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Message preferences saved."))
    return redirect("customer_detail", code=customer.code)
