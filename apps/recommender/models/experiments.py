"""A/B tests: variants share traffic; impressions record what each user was shown."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.recommender.models.catalog import ShopClient, ShopUser


class Experiment(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        RUNNING = "running"
        STOPPED = "stopped"

    client = models.ForeignKey(ShopClient, on_delete=models.CASCADE, related_name="experiments")
    name = models.CharField(max_length=200)
    salt = models.CharField(
        max_length=64, help_text="Mixed into the bucketing hash; fixed once the test runs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    attribution_window_hours = models.PositiveIntegerField(
        default=24, help_text="A click or purchase counts for the impression shown this recently"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["client", "name"], name="recommender_experiment_name"),
            models.UniqueConstraint(
                fields=["client"],
                condition=Q(status="running"),
                name="recommender_one_running_experiment_per_client",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """One arm: a ranking strategy and, optionally, a pinned model version."""

    class Strategy(models.TextChoices):
        RANKED = "ranked", "candidates ranked by the model"
        POPULAR = "popular", "popular items only"
        SIMILAR = "similar", "text similarity to recent items, no model"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=100)
    strategy = models.CharField(max_length=10, choices=Strategy.choices, default=Strategy.RANKED)
    model_version = models.ForeignKey(
        "registry.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty: the production version",
    )
    traffic_share = models.FloatField(
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Shares of one experiment's variants add up to 1",
    )

    class Meta:
        ordering = ["experiment", "id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "name"], name="recommender_variant_name")
        ]

    def __str__(self) -> str:
        return f"{self.experiment} / {self.name}"


class Impression(models.Model):
    """A list of recommendations a user was shown; clicks and purchases are attributed to it."""

    client = models.ForeignKey(ShopClient, on_delete=models.CASCADE, related_name="impressions")
    user = models.ForeignKey(ShopUser, on_delete=models.CASCADE, related_name="impressions")
    variant = models.ForeignKey(
        Variant, null=True, blank=True, on_delete=models.CASCADE, related_name="impressions"
    )
    request_id = models.CharField(max_length=64, unique=True)
    surface = models.CharField(max_length=30, help_text="for_you, similar, popular")
    item_ids = models.JSONField(help_text="Item ids shown, in order")
    model_version = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shown_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-shown_at"]
        indexes = [models.Index(fields=["user", "shown_at"])]

    def __str__(self) -> str:
        return f"{self.request_id} ({self.surface})"
