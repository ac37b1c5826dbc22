from django.contrib import admin

from tiering_web.readonly_admin import ReadOnlyAdmin
from tiering_web.rulesets.models import RuleSet, RuleSetVersion, WhatIfRun


class RuleSetVersionInline(admin.TabularInline):
    model = RuleSetVersion
    fields = (
        "number",
        "status",
        "effective_date",
        "author",
        "reviewer",
        "reviewed_at",
        "approver",
        "approved_at",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(RuleSet)
class RuleSetAdmin(ReadOnlyAdmin):
    """Rule sets and versions are written through services (validated, four-eyes,
    audited)."""

    list_display = ("name", "is_primary", "created_at")
    inlines = [RuleSetVersionInline]


@admin.register(WhatIfRun)
class WhatIfRunAdmin(ReadOnlyAdmin):
    """What-ifs are queued through services.do_queue_whatif and run by the worker."""

    list_display = ("ruleset", "as_of", "status", "stage", "requested_by", "created_at")
    list_filter = ("status",)
