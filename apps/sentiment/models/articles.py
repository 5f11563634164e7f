"""Where news comes from, the articles themselves, their predicted and analyst labels."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.api_keys import ApiKeyBase


class Sentiment(models.TextChoices):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class FeedSource(models.Model):
    """An RSS/Atom feed polled on its own interval, with conditional GET and error backoff."""

    name = models.CharField(max_length=200)
    url = models.URLField(max_length=1000, unique=True)
    active = models.BooleanField(default=True)
    poll_interval_s = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(30)], help_text="Seconds between polls"
    )
    language = models.CharField(max_length=10, default="en", help_text="Language of its items")
    # Conditional GET: what the server sent last time.
    etag = models.CharField(max_length=500, blank=True, editable=False)
    last_modified = models.CharField(max_length=100, blank=True, editable=False)
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    articles_added = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IngestClient(ApiKeyBase):
    """A system that pushes articles through the API with its own key."""

    class Meta(ApiKeyBase.Meta):
        abstract = False


class Article(models.Model):
    """One news item. Re-delivery (same canonical URL or same normalised text) adds nothing."""

    source = models.ForeignKey(
        FeedSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles"
    )
    client = models.ForeignKey(
        IngestClient, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles"
    )
    external_id = models.CharField(
        max_length=300, blank=True, help_text="The pushing client's id (idempotency key)"
    )
    source_name = models.CharField(max_length=200, blank=True, help_text="Publisher as delivered")
    url = models.URLField(max_length=2000, blank=True)
    canonical_url = models.CharField(max_length=2000, blank=True, db_index=True)
    content_hash = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 of normalised title + body"
    )
    title = models.CharField(max_length=1000)
    body = models.TextField(blank=True, help_text="Summary or full text")
    language = models.CharField(max_length=10, default="en")
    published_at = models.DateTimeField(db_index=True)
    fetched_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The latest prediction, tagged with the model version that made it.
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    p_positive = models.FloatField(null=True, blank=True)
    p_neutral = models.FloatField(null=True, blank=True)
    p_negative = models.FloatField(null=True, blank=True)
    confidence = models.FloatField(
        null=True, blank=True, db_index=True, help_text="Top probability; low = label me first"
    )
    sentiment_version = models.ForeignKey(
        "registry.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    scored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["canonical_url"],
                condition=~Q(canonical_url=""),
                name="sentiment_article_canonical_url_unique",
            ),
            models.UniqueConstraint(
                fields=["client", "external_id"],
                condition=~Q(external_id=""),
                name="sentiment_article_client_external_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True)
                | (Q(confidence__gte=0) & Q(confidence__lte=1)),
                name="sentiment_article_confidence_is_probability",
            ),
        ]
        indexes = [models.Index(fields=["sentiment", "published_at"])]

    def __str__(self) -> str:
        return self.title[:80]


class ArticleLabel(models.Model):
    """An analyst's label: training data for the next sentiment model."""

    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="label")
    label = models.CharField(max_length=10, choices=Sentiment.choices)
    model_label = models.CharField(
        max_length=10, choices=Sentiment.choices, blank=True, help_text="What the model said then"
    )
    labelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    labelled_at = models.DateTimeField(auto_now=True)
    held_out = models.BooleanField(
        default=False, help_text="Kept out of training to compare versions on the same articles"
    )

    class Meta:
        ordering = ["-labelled_at"]

    def __str__(self) -> str:
        return f"{self.label}: {self.article}"
