from django.contrib import admin

from tiering_web.rulesets.models import RuleSet, RuleSetVersion


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
