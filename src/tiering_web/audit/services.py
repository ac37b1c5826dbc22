"""The one way to write the audit log."""

from __future__ import annotations

from typing import Any

from django.db import models

from tiering_web.audit.models import AuditEntry


def record(actor, action: str, obj: models.Model | None, reason: str = "", **details: Any):
    """Write one audit entry: ``actor`` did ``action`` to ``obj`` because of ``reason``.

    Called by every ``do_*`` service inside its own transaction, so the entry exists
    exactly when the change does. ``details`` must be JSON-serialisable by Django's
    encoder (Decimal, dates and datetimes are fine).
    """
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = "" if obj.pk is None else str(obj.pk)
        object_repr = str(obj)[:200]
    else:
        object_type = object_id = object_repr = ""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk is not None else None,
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        reason=reason or "",
        details=details,
    )
