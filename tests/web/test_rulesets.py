import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from tiering_web.audit.models import AuditEntry
from tiering_web.rulesets.models import RuleSet, RuleSetVersion
from tiering_web.rulesets.services import (
    do_create_ruleset,
    do_save_ruleset_version,
    do_set_primary,
)

from .conftest import THRESHOLDS

pytestmark = pytest.mark.django_db

BROKEN = """name: 按营收分级
thresholds: {metric: revnue}
tiers:
  - {name: A, min: 100000}
  - {name: B, min: abc}
  - {name: C}
"""


def test_invalid_version_gives_field_level_errors_in_the_rule_files_wording(manager):
    """Given rules with a misspelt metric and a non-numeric bound, when saving them, then
    the ValidationError is keyed by each rule field, with its line, in the engine's words
    (English and Chinese), and no version is saved."""
    ruleset = do_create_ruleset(manager, "营收", "")
    with translation.override("en"), pytest.raises(ValidationError) as e:
        do_save_ruleset_version(manager, ruleset, BROKEN, "try")
    errors = e.value.message_dict
    assert set(errors) == {"thresholds.metric", "tiers[1].min"}
    assert errors["thresholds.metric"][0].startswith("line 2, thresholds.metric: unknown metric")
    assert "did you mean 'revenue'" in errors["thresholds.metric"][0]
    assert errors["tiers[1].min"] == [
        "line 5, tiers[1].min: min must be a number such as 100000, not 'abc'"
    ]

    with translation.override("zh-hans"), pytest.raises(ValidationError) as e:
        do_save_ruleset_version(manager, ruleset, BROKEN, "try")
    assert e.value.message_dict["tiers[1].min"][0].startswith("第 5 行, tiers[1].min: min 应为数字")
    assert not RuleSetVersion.objects.exists()
    assert not AuditEntry.objects.filter(action="ruleset.version.save").exists()


def test_saving_versions_numbers_them_and_records_the_author(manager):
    """Given a rule set, when two valid versions are saved (one as YAML text), then they
    are numbered 1 and 2, authored by the actor, drafts, each with an audit entry."""
    ruleset = do_create_ruleset(manager, "营收", "")
    first = do_save_ruleset_version(manager, ruleset, THRESHOLDS, "v1")
    fixed = BROKEN.replace("revnue", "revenue").replace("abc", "20000")
    second = do_save_ruleset_version(manager, ruleset, fixed, "v2")
    assert (first.number, second.number) == (1, 2)
    assert second.definition["tiers"][1] == {"name": "B", "min": 20000}
    assert first.author == manager and first.status == RuleSetVersion.Status.DRAFT
    assert second.rules().tier_names == ["A", "B", "C"]
    assert AuditEntry.objects.filter(action="ruleset.version.save").count() == 2


def test_only_one_primary_rule_set(manager):
    """Given two rule sets, when each is made primary in turn, then only the last is; and
    the database itself refuses a second primary."""
    one = do_create_ruleset(manager, "一", "")
    two = do_create_ruleset(manager, "二", "")
    do_set_primary(manager, one, "")
    do_set_primary(manager, two, "")
    assert list(RuleSet.objects.filter(is_primary=True)) == [two]
    with pytest.raises(IntegrityError), transaction.atomic():
        RuleSet.objects.filter(pk=one.pk).update(is_primary=True)
