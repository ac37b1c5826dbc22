"""The demo company ``make run`` loads into the web app: staff of every role, customers,
transactions and payments through the import service, rule sets graded and published for
two quarters, tier policies, account managers' capacities and tasks, a month of calls."""

import pytest
from django.contrib.auth import get_user_model

from tiering_web.accountwork.models import ManagerProfile, Task
from tiering_web.callcentre.models import CallLog
from tiering_web.customers.models import Customer, Payment, Transaction
from tiering_web.demo.services import QUARTERS, load_demo, saved_accounts
from tiering_web.evaluations.models import Evaluation
from tiering_web.policies.services import policies_in_force
from tiering_web.rulesets.models import RuleSet


@pytest.mark.django_db(transaction=True)
def test_demo_company(settings, tmp_path):
    """Given an empty database, when the demo loads 120 customers, then every part of the
    app has data, the printed accounts log in, and a second load is refused."""
    settings.VAR_DIR = tmp_path
    accounts = load_demo(customers=120, seed=3, progress=lambda _: None)

    roles = {a.role for a in accounts}
    assert roles == {"administrator", "manager", "analyst", "account_manager"}
    assert saved_accounts() == accounts
    User = get_user_model()
    for a in accounts:
        assert User.objects.get(username=a.username).check_password(a.password)

    assert Customer.objects.count() == 120
    assert Transaction.objects.exists() and Payment.objects.exists()
    assert all(c for c in Customer.objects.values_list("contacts", flat=True))
    primary = RuleSet.objects.get(is_primary=True)
    for ruleset in RuleSet.objects.all():
        published = Evaluation.objects.filter(
            ruleset_version__ruleset=ruleset, status=Evaluation.Status.PUBLISHED
        )
        assert sorted(published.values_list("as_of", flat=True)) == list(QUARTERS)
    assert RuleSet.objects.filter(name="回款评级").exists()
    assert set(policies_in_force(primary)) == {"A", "B", "C"}
    assert ManagerProfile.objects.exists() and Task.objects.exists()
    assert CallLog.objects.filter(customer__isnull=False).exists()

    with pytest.raises(RuntimeError):
        load_demo(customers=10, seed=3, progress=lambda _: None)
