"""The Django admin as a window, not a door: facts that carry history or rules (customers,
transactions, payments, rule sets, policies, evaluations, tiers, overrides, schedules,
what-ifs) are written only through their services, which check the rules and record who
and why; their admin pages show them and change nothing."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """An admin that lists and shows, and may neither add, change nor delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
