"""Signals other apps listen to (service by tier: reassignments, notifications...).

``evaluation_published(sender=Evaluation, evaluation=..., actor=...)`` is sent once the
publication has committed, so receivers see the new current tiers; a receiver's failure
does not undo the publication (receivers queue their own work and report their own
errors)."""

from django.dispatch import Signal

evaluation_published = Signal()
