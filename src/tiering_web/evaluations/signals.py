"""Signals other apps listen to (service by tier: reassignments, notifications...).

``evaluation_published(sender=Evaluation, evaluation=..., actor=...)`` is sent once the
publication has committed, so receivers see the new current tiers; a receiver's failure
does not undo the publication (receivers queue their own work and report their own
errors).

``evaluation_withdrawn(sender=Evaluation, evaluation=..., actor=...)`` is sent inside the
withdrawal's transaction, after the tiers went back: what a receiver writes (withdrawing
the work the publication started) commits or rolls back with the withdrawal, and a
receiver's failure undoes it."""

from django.dispatch import Signal

evaluation_published = Signal()
evaluation_withdrawn = Signal()
