from django.contrib import admin

from tiering_web.policies.models import PolicyVersion, TierPolicy


class TierPolicyInline(admin.TabularInline):
    model = TierPolicy
    extra = 0
    can_delete = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    """Read-only: versions are written through the policy pages (audited)."""

    list_display = ("ruleset", "number", "effective_date", "status", "author", "approver")
    list_filter = ("status", "ruleset")
    inlines = [TierPolicyInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
