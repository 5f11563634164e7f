"""What risk teams watch: a company, a ticker or a theme, and which articles are about it."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.sentiment.models.articles import Article


class Topic(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company"
        TICKER = "ticker"
        THEME = "theme"

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.COMPANY)
    aliases = models.JSONField(
        default=list, blank=True, help_text="Names matched as whole words, case-insensitive"
    )
    tickers = models.JSONField(
        default=list, blank=True, help_text="Symbols matched as whole words in upper case or $SYM"
    )
    keywords = models.JSONField(default=list, blank=True, help_text="Theme words, whole words")
    description = models.TextField(
        blank=True, help_text="If set, articles similar to it in meaning also match"
    )
    similarity_threshold = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Cosine similarity to the description needed to match; empty: the default",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TopicMatch(models.Model):
    """An article belongs to a topic, and why: the alias that matched or the similarity."""

    class Method(models.TextChoices):
        ALIAS = "alias"
        TICKER = "ticker"
        KEYWORD = "keyword"
        EMBEDDING = "embedding"

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="matches")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="topic_matches")
    method = models.CharField(max_length=10, choices=Method.choices)
    matched_text = models.CharField(max_length=300, blank=True)
    score = models.FloatField(null=True, blank=True, help_text="Similarity, for embedding matches")
    # Copied from the article so window counts need no join.
    published_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "article"], name="sentiment_match_unique")
        ]
        indexes = [models.Index(fields=["topic", "published_at"])]

    def __str__(self) -> str:
        return f"{self.topic} <- {self.article_id} ({self.method})"
