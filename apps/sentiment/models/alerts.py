"""Alert rules, who hears about them, the alerts that fired and the emails they cause."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.sentiment.models.topics import Topic


class Severity(models.IntegerChoices):
    INFO = 10, "info"
    WARNING = 20, "warning"
    CRITICAL = 30, "critical"


class AlertRule(models.Model):
    """Fire when a topic's negative news surges in a window against its own baseline."""

    name = models.CharField(max_length=200, unique=True)
    topic = models.ForeignKey(
        Topic,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_rules",
        help_text="Empty: every active topic",
    )
    window_minutes = models.PositiveIntegerField(default=15, validators=[MinValueValidator(1)])
    min_articles = models.PositiveIntegerField(
        default=5, help_text="Fewer articles in the window never fire (one headline pages no one)"
    )
    negative_share_threshold = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of negative articles in the window needed to fire",
    )
    surge_factor = models.FloatField(
        default=2.0,
        validators=[MinValueValidator(1.0)],
        help_text="Negative articles in the window vs the topic's baseline rate",
    )
    severity = models.IntegerField(choices=Severity.choices, default=Severity.WARNING)
    cooldown_minutes = models.PositiveIntegerField(
        default=60, help_text="No new alert for the same topic and rule within this time"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """A person (user or plain address) who gets alert emails for some or all topics."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sentiment_subscriptions",
    )
    email = models.EmailField(blank=True, help_text="Used when no user is set")
    topics = models.ManyToManyField(
        Topic, blank=True, related_name="subscriptions", help_text="Empty: every topic"
    )
    min_severity = models.IntegerField(choices=Severity.choices, default=Severity.INFO)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(email=""),
                name="sentiment_subscription_has_recipient",
                violation_error_message="Set a user or an email address",
            )
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        return self.user.email if self.user_id and self.user.email else self.email


class Alert(models.Model):
    """A surge that fired, with the evidence that made it fire; saved before any email."""

    class State(models.TextChoices):
        FIRING = "firing"
        RESOLVED = "resolved"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="alerts")
    state = models.CharField(max_length=10, choices=State.choices, default=State.FIRING)
    severity = models.IntegerField(choices=Severity.choices)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    evidence = models.JSONField(
        default=dict, help_text="Window figures, baseline and the most negative headlines"
    )
    fired_at = models.DateTimeField(db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=300, blank=True)
    reminders_sent = models.PositiveIntegerField(
        default=0, help_text="Reminders while it kept firing unacknowledged, one per cooldown"
    )

    class Meta:
        ordering = ["-fired_at"]
        constraints = [
            # At most one firing alert per rule and topic: re-evaluation updates it.
            models.UniqueConstraint(
                fields=["rule", "topic"],
                condition=Q(state="firing"),
                name="sentiment_alert_one_firing_per_rule_topic",
            )
        ]
        indexes = [models.Index(fields=["topic", "fired_at"])]

    def __str__(self) -> str:
        return f"{self.rule} / {self.topic} ({self.state})"


class EmailOutbox(models.Model):
    """One email to one address; marked sent only after the SMTP server accepted it."""

    class Kind(models.TextChoices):
        FIRED = "fired"
        REMINDER = "reminder"
        RESOLVED = "resolved"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed", "failed (gave up)"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    sequence = models.PositiveIntegerField(default=0, help_text="Reminder number; 0 otherwise")
    to_address = models.EmailField()
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField()
    message_id = models.CharField(max_length=300, help_text="Message-ID header, fixed at creation")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "kind", "sequence", "to_address"],
                name="sentiment_outbox_once_per_address",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} alert {self.alert_id} -> {self.to_address} ({self.status})"
