"""The web application: customers, rule sets, evaluations and tier history (Django)."""
