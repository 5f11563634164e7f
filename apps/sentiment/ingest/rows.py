"""What one delivered article must look like, whichever way it came (API, feed, file).

The push API documents this serializer in the OpenAPI schema and the ingest service validates
every row with it, so the schema and the checks cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator, URLValidator
from django.utils import timezone
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

LANGUAGE_CODE = RegexValidator(
    r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$",
    message="Use an ISO 639 language code such as en, de or pt-br.",
)


@extend_schema_serializer(component_name="SentimentArticleRow")
class ArticleRowSerializer(serializers.Serializer):
    """One news article."""

    # Context: `now` (the clock for the future check) and `default_language`.

    id = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text="Your id for the article: sending it again is a no-op (idempotency key)",
    )
    title = serializers.CharField(max_length=1000)
    body = serializers.CharField(
        max_length=100_000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Summary or full text (plain text)",
    )
    url = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        validators=[URLValidator(schemes=["http", "https"])],
    )
    source = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", help_text="Publisher"
    )
    published_at = serializers.DateTimeField(
        help_text="ISO 8601; a time without an offset is read as UTC"
    )
    language = serializers.CharField(
        max_length=10,
        required=False,
        help_text="ISO 639 code; default: the source's language, else en",
    )

    def validate_published_at(self, value: datetime) -> datetime:
        now = self.context.get("now") or timezone.now()
        skew = timedelta(seconds=settings.SENTIMENT_INGEST_FUTURE_SKEW_S)
        if value > now + skew:
            raise serializers.ValidationError(
                f"{value.isoformat()} is in the future (more than {int(skew.total_seconds())} s "
                "ahead of this server); send the time the article was published"
            )
        return value

    def validate_language(self, value: str) -> str:
        value = value.strip().lower().replace("_", "-")
        LANGUAGE_CODE(value)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("language"):
            attrs["language"] = self.context.get("default_language") or "en"
        return attrs
