"""A service's refusal shown on the form that asked for it."""

from django.core.exceptions import ValidationError


def errors_to_form(form, error: ValidationError) -> None:
    """Put ``error`` (raised by a service, keyed by field or not) on ``form``: each message
    on its field where the form has one, else above the form (codes kept)."""
    if hasattr(error, "error_dict"):
        for field, problems in error.error_dict.items():
            form.add_error(field if field in form.fields else None, problems)
    else:
        form.add_error(None, error)
