from django.contrib import admin

from tiering_web.policies.models import PolicyVersion, TierPolicy
from tiering_web.readonly_admin import ReadOnlyAdmin


class TierPolicyInline(admin.TabularInline):
    model = TierPolicy
    extra = 0
    can_delete = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnlyAdmin):
    """Read-only: versions are written through the policy services (audited)."""

    list_display = ("ruleset", "number", "effective_date", "status", "author", "approver")
    list_filter = ("status", "ruleset")
    inlines = [TierPolicyInline]
