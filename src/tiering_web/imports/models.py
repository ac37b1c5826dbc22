from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    """One upload of a customers, transactions or payments file: how its columns were mapped, what
    it did (rows created, updated, unchanged) or, when it was refused, every bad row.

    ``errors`` holds ``{row, column, value, en, zh}`` per issue (row as a spreadsheet shows
    it, the header being row 1). A job made by the upload page goes pending (uploaded,
    columns not yet mapped) → queued → checking → writing → done or failed; while the
    background task runs, ``rows_done`` of ``rows_total`` says how far the current phase is.
    ``upload`` is the stored file's generated name under ``VAR_DIR/uploads``.
    """

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        TRANSACTIONS = "transactions", _("Transactions")
        PAYMENTS = "payments", _("Payments received")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        QUEUED = "queued", _("Queued")
        CHECKING = "checking", _("Checking rows")
        WRITING = "writing", _("Writing rows")
        VALIDATED = "validated", _("Validated")
        FAILED = "failed", _("Failed")
        DONE = "done", _("Done")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    file_name = models.CharField(_("file name"), max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # stamped by the worker while checking and writing (tiering_web.jobs.Heartbeat)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    reason = models.TextField(_("reason"), blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    rows_total = models.PositiveIntegerField(_("rows in the file"), default=0)
    rows_done = models.PositiveIntegerField(_("rows processed"), default=0)
    created_count = models.PositiveIntegerField(_("rows created"), default=0)
    updated_count = models.PositiveIntegerField(_("rows updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("rows unchanged"), default=0)
    upload = models.CharField(_("stored file"), max_length=100, blank=True, editable=False)
    task_id = models.CharField(_("background task"), max_length=64, blank=True, editable=False)
    errors = models.JSONField(_("errors"), default=list, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ("-created_at", "-id")

    @property
    def running(self) -> bool:
        """Waiting for or inside the background task."""
        return self.status in (self.Status.QUEUED, self.Status.CHECKING, self.Status.WRITING)

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name} ({self.status})"
