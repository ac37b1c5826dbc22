from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from tiering_web.accounts.models import User


@admin.register(User)
class TieringUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, (_("Role"), {"fields": ("role",)}))
    add_fieldsets = (*UserAdmin.add_fieldsets, (_("Role"), {"fields": ("role",)}))
    list_display = ("username", "email", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "is_staff")
