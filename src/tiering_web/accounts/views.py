from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tiering_web.accounts.forms import (
    OwnPasswordForm,
    SetPasswordForm,
    ThrottledAuthenticationForm,
    TokenIssueForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
)
from tiering_web.accounts.models import ApiToken, User
from tiering_web.accounts.permissions import (
    can_issue_token,
    can_manage_users,
    can_revoke_token,
    can_view_users,
)
from tiering_web.accounts.services import (
    USER_FIELDS,
    do_create_user,
    do_revoke_token,
    do_set_password,
    do_update_user,
    issue_token,
)
from tiering_web.errors import errors_to_form

PER_PAGE = 50

login = LoginView.as_view(authentication_form=ThrottledAuthenticationForm)


@login_required
def user_list(request):
    if not can_view_users(request.user):
        raise PermissionDenied
    form = UserFilterForm(request.GET or None)
    users = form.filter(
        User.objects.annotate(customer_count=Count("owned_customers")).order_by("username")
    )
    paginator = Paginator(users, PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "paginator": paginator,
        "query": query.urlencode(),
        "can_manage": can_manage_users(request.user),
    }
    template = "accounts/user_list.html"
    if request.htmx and not request.htmx.boosted:
        template = "accounts/_user_table.html"
    return render(request, template, context)


@login_required
def user_create(request):
    if not can_manage_users(request.user):
        raise PermissionDenied
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {name: data[name] for name in UserCreateForm.Meta.fields}
        try:
            user = do_create_user(request.user, fields, data["password"], data["reason"])
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, _("User %(username)s created.") % {"username": user})
            return redirect("user_edit", pk=user.pk)
    return render(request, "accounts/user_create.html", {"form": form})


def _edit_page(request, user, *, form=None, password_form=None, status=200):
    context = {
        "subject": user,
        "form": form or UserEditForm(instance=user),
        "password_form": password_form or SetPasswordForm(auto_id="pw_%s"),
        "tokens": user.api_tokens.all(),
        "is_self": user.pk == request.user.pk,
    }
    return render(request, "accounts/user_edit.html", context, status=status)


@login_required
def user_edit(request, pk):
    if not can_manage_users(request.user):
        raise PermissionDenied
    user = get_object_or_404(User, pk=pk)
    if request.method != "POST":
        return _edit_page(request, user)
    # the form edits a copy: a refused change must not show up as made on the page
    form = UserEditForm(request.POST, instance=User.objects.get(pk=pk))
    if form.is_valid():
        changes = {name: form.cleaned_data[name] for name in USER_FIELDS}
        try:
            do_update_user(request.user, user, changes, form.cleaned_data["reason"])
        except ValidationError as error:
            errors_to_form(form, error)
            user.refresh_from_db()
        else:
            messages.success(request, _("User %(username)s saved.") % {"username": user})
            return redirect("user_edit", pk=user.pk)
    return _edit_page(request, user, form=form)


@login_required
@require_POST
def user_password(request, pk):
    if not can_manage_users(request.user):
        raise PermissionDenied
    user = get_object_or_404(User, pk=pk)
    form = SetPasswordForm(request.POST, auto_id="pw_%s")
    if form.is_valid():
        try:
            do_set_password(
                request.user, user, form.cleaned_data["password"], form.cleaned_data["reason"]
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            if user.pk == request.user.pk:
                update_session_auth_hash(request, user)
            messages.success(
                request, _("The password of %(username)s was changed.") % {"username": user}
            )
            return redirect("user_edit", pk=user.pk)
    return _edit_page(request, user, password_form=form)


def _profile_page(request, *, password_form=None, token_form=None, new_token=None):
    context = {
        "password_form": password_form or OwnPasswordForm(request.user),
        "token_form": token_form or TokenIssueForm(),
        "tokens": request.user.api_tokens.all(),
        "new_token": new_token,
        "can_issue": can_issue_token(request.user, request.user),
    }
    return render(request, "accounts/account_profile.html", context)


@login_required
def account_profile(request):
    return _profile_page(request)


@login_required
@require_POST
def account_password(request):
    form = OwnPasswordForm(request.user, request.POST)
    if form.is_valid():
        try:
            do_set_password(
                request.user,
                request.user,
                form.cleaned_data["password"],
                _("Changed their own password"),
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("Your password was changed."))
            return redirect("account_profile")
    return _profile_page(request, password_form=form)


@login_required
@require_POST
def account_token_issue(request):
    if not can_issue_token(request.user, request.user):
        raise PermissionDenied
    form = TokenIssueForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, token_form=form)
    # shown in this response only (never stored, never put in the session or a redirect)
    key = issue_token(request.user, request.user, form.cleaned_data["name"])
    response = _profile_page(request, new_token={"name": form.cleaned_data["name"], "key": key})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    if not can_revoke_token(request.user, token.user):
        raise PermissionDenied
    owner = token.user
    do_revoke_token(request.user, token, request.POST.get("reason", "").strip()[:500])
    messages.success(request, _("Token %(name)s revoked.") % {"name": token.name})
    if owner.pk == request.user.pk:
        return redirect("account_profile")
    return redirect("user_edit", pk=owner.pk)
