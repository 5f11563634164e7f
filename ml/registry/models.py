"""Model versions and the audit trail of their stage changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ml.training.kinds import REGISTRY_KINDS


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        TRAINING = "training"
        READY = "ready"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Stage(models.TextChoices):
        CANDIDATE = "candidate"
        PRODUCTION = "production"
        ARCHIVED = "archived"

    # The kinds the registry trains, values and labels from ml.training.TaskKind (the text
    # kinds are as before it existed, so existing rows stay valid; next_item came later).
    TaskType = models.TextChoices(
        "TaskType", [(kind.name, (kind.value, kind.label)) for kind in REGISTRY_KINDS]
    )

    task = models.CharField(max_length=100, db_index=True, help_text="e.g. chat.intent")
    version = models.PositiveIntegerField()
    task_type = models.CharField(
        max_length=20, choices=TaskType.choices, default=TaskType.CLASSIFICATION
    )
    base_model = models.CharField(max_length=500, help_text="Local Hugging Face model directory")
    hyperparameters = models.JSONField(default=dict, blank=True)
    dataset_path = models.CharField(
        max_length=500,
        blank=True,
        help_text="CSV (text,label[,text_pair]) for tasks without a builder",
    )
    dataset_fingerprint = models.CharField(max_length=64, blank=True)
    dataset_size = models.PositiveIntegerField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    artifact_path = models.CharField(max_length=500, blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    status_message = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.CANDIDATE)

    celery_task_id = models.CharField(max_length=100, blank=True)
    device = models.CharField(max_length=20, blank=True)
    train_seconds = models.FloatField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["task", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "version"], name="registry_task_version_unique"
            ),
            models.UniqueConstraint(
                fields=["task"],
                condition=Q(stage="production"),
                name="registry_one_production_per_task",
            ),
            models.CheckConstraint(
                condition=~Q(stage="production") | Q(status="ready"),
                name="registry_production_is_ready",
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="registry_progress_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} v{self.version}"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.TRAINING)


class ModelStageEvent(models.Model):
    """Who moved which version into production, and from which; rollbacks walk this."""

    class Action(models.TextChoices):
        PROMOTE = "promote"
        ROLLBACK = "rollback"

    task = models.CharField(max_length=100, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    from_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.task}: {self.from_version_id} -> {self.to_version_id}"


class ScoringRun(models.Model):
    """A re-scoring of an app's recent items with a newly promoted version, chunk by chunk."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    task = models.CharField(max_length=100, db_index=True)
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    celery_task_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"re-scoring {self.task} #{self.id}"

    @property
    def progress(self) -> float:
        return self.done / self.total if self.total else (1.0 if self.status == "done" else 0.0)
