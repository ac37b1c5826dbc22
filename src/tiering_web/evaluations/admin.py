from django.contrib import admin

from tiering_web.evaluations.models import Evaluation, Override, Schedule, TierAssignment
from tiering_web.readonly_admin import ReadOnlyAdmin


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = ("ruleset_version", "as_of", "status", "created_by", "published_by")
    list_filter = ("status",)


@admin.register(TierAssignment)
class TierAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("customer", "ruleset", "tier", "valid_from", "valid_to")
    list_filter = ("ruleset", "tier")


@admin.register(Override)
class OverrideAdmin(ReadOnlyAdmin):
    list_display = ("customer", "ruleset", "tier", "expires", "created_by")
    list_filter = ("ruleset",)


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyAdmin):
    list_display = ("ruleset", "frequency", "next_run", "auto_publish", "active", "created_by")
    list_filter = ("frequency", "active")
