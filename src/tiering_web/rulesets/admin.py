from django.contrib import admin

from tiering_web.rulesets.models import RuleSet, RuleSetVersion, WhatIfRun


class RuleSetVersionInline(admin.TabularInline):
    model = RuleSetVersion
    fields = ("number", "status", "effective_date", "author", "reviewer", "approver")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    list_display = ("name", "is_primary", "created_at")
    inlines = [RuleSetVersionInline]
    # versions are saved through services.do_save_ruleset_version (validated, audited)
    readonly_fields = ("is_primary",)


@admin.register(WhatIfRun)
class WhatIfRunAdmin(admin.ModelAdmin):
    """What-ifs are queued through services.do_queue_whatif and run by the worker."""

    list_display = ("ruleset", "as_of", "status", "stage", "requested_by", "created_at")
    list_filter = ("status",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
