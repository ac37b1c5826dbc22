from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tiering_web.accounts.forms import ThrottledAdminAuthenticationForm
from tiering_web.accounts.models import LoginAttempt, User
from tiering_web.audit.services import record

# The admin's login counts failures and honours lockouts like the site's own login page.
admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(User)
class TieringUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, (_("Role"), {"fields": ("role",)}))
    add_fieldsets = (*UserAdmin.add_fieldsets, (_("Role"), {"fields": ("role",)}))
    list_display = ("username", "email", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "is_staff")

    def save_model(self, request, obj, form, change):
        """Edits made in the Django admin bypass the services; at least record which
        fields changed (never their values: the password hash is one of them)."""
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            action = "user.update" if change else "user.create"
            record(request.user, action, obj, "Django admin", fields=sorted(form.changed_data))


@admin.register(LoginAttempt)
class LoginAttemptAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "ip", "outcome")
    list_filter = ("outcome",)
    search_fields = ("username", "ip")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
