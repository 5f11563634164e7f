"""Knowledge base, conversations and the learning loop of the support chat."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.chat.answering import OUT_OF_SCOPE_INTENT


class KnowledgeEntry(models.Model):
    """One answer the bot can give, with the questions that lead to it."""

    title = models.CharField(max_length=300, help_text="The canonical question")
    answer = models.TextField(help_text="Plain text; URLs become links in the widget")
    intent = models.SlugField(
        max_length=100, unique=True, help_text="Label the intent classifier learns for this entry"
    )
    tags = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=10, default="en")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "knowledge entries"
        constraints = [
            models.CheckConstraint(
                condition=~Q(intent=OUT_OF_SCOPE_INTENT),
                name="chat_entry_intent_not_reserved",
                violation_error_message=f"{OUT_OF_SCOPE_INTENT} is reserved for out-of-scope "
                "questions; choose another intent",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class EntryPhrasing(models.Model):
    """A way of asking for an entry. Its id is its vector id in the FAISS index."""

    class Source(models.TextChoices):
        TITLE = "title"
        MANUAL = "manual"
        IMPORT = "import"
        LEARNED = "learned", "learned from an unanswered question"

    entry = models.ForeignKey(KnowledgeEntry, on_delete=models.CASCADE, related_name="phrasings")
    text = models.CharField(max_length=500)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "text"], name="chat_phrasing_unique_text"),
        ]

    def __str__(self) -> str:
        return self.text


class Conversation(models.Model):
    class Status(models.TextChoices):
        BOT = "bot"
        WAITING = "waiting", "waiting for a person"
        AGENT = "agent", "with an agent"
        CLOSED = "closed"

    class Resolution(models.TextChoices):
        BOT_RESOLVED = "bot_resolved", "resolved by the bot"
        AGENT_RESOLVED = "agent_resolved", "resolved by an agent"
        ABANDONED = "abandoned"
        OTHER = "other"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOT)
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chat_conversations",
    )
    customer_ref = models.CharField(
        max_length=100, blank=True, db_index=True, help_text="Widget's anonymous customer id"
    )
    client_ip_hash = models.CharField(max_length=64, blank=True)
    handoff_reason = models.CharField(max_length=200, blank=True)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    csat = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    waiting_since = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(csat__isnull=True) | (Q(csat__gte=1) & Q(csat__lte=5)),
                name="chat_csat_1_to_5",
            ),
            models.CheckConstraint(
                condition=~Q(status="agent") | Q(assigned_agent__isnull=False),
                name="chat_agent_status_has_agent",
            ),
        ]

    def __str__(self) -> str:
        return f"conversation {self.public_id}"


class Message(models.Model):
    class Sender(models.TextChoices):
        CUSTOMER = "customer"
        BOT = "bot"
        AGENT = "agent"
        SYSTEM = "system"

    class Kind(models.TextChoices):
        TEXT = "text"
        ANSWER = "answer"
        SUGGESTIONS = "suggestions"
        HANDOFF_OFFER = "handoff_offer"
        SYSTEM = "system"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender = models.CharField(max_length=10, choices=Sender.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TEXT)
    text = models.TextField(help_text="Personal data already masked")
    client_msg_id = models.CharField(max_length=64, blank=True)
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    entry = models.ForeignKey(
        KnowledgeEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suggestions = models.JSONField(default=list, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    feedback = models.SmallIntegerField(null=True, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "client_msg_id"],
                condition=~Q(client_msg_id=""),
                name="chat_message_client_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(feedback__isnull=True) | Q(feedback__in=[-1, 1]),
                name="chat_feedback_values",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender}: {self.text[:40]}"


class UnansweredQuestion(models.Model):
    """A question the bot could not answer well: low confidence or a thumbs-down."""

    class Reason(models.TextChoices):
        LOW_CONFIDENCE = "low_confidence", "low confidence"
        THUMBS_DOWN = "thumbs_down", "thumbs down"

    class State(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"
        DISMISSED = "dismissed"
        OUT_OF_SCOPE = "out_of_scope", "out of scope (the bot learns to offer a person)"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="unanswered")
    text = models.TextField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    resolved_entry = models.ForeignKey(
        KnowledgeEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # What the latest promoted chat.intent version says about it (re-scored after each
    # promotion by apps/chat/scoring.py): shows which questions the new model would answer.
    predicted_intent = models.CharField(max_length=100, blank=True)
    predicted_confidence = models.FloatField(null=True, blank=True)
    predicted_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["message", "reason"], name="chat_unanswered_once"),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class OutOfScopeExample(models.Model):
    """A question the bot should not answer from the knowledge base: it offers a person.

    The `chat.intent` fine-tune learns these as OUT_OF_SCOPE_INTENT (Rasa's out_of_scope
    intent). Added by hand in admin, by a JSON import, by the demo, or by marking unanswered
    questions out of scope (their stored text, already masked, is copied like a learned phrasing).
    """

    class Source(models.TextChoices):
        MANUAL = "manual"
        MARKED = "marked", "marked from an unanswered question"
        IMPORT = "import"
        DEMO = "demo"

    text = models.CharField(max_length=500, unique=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "out-of-scope example"

    def __str__(self) -> str:
        return self.text


class AgentProfile(models.Model):
    """How customers see an agent. Never the login: it names an account someone can attack."""

    DEFAULT_DISPLAY_NAME = "Support agent"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_agent_profile"
    )
    display_name = models.CharField(
        max_length=60,
        blank=True,
        help_text=f"Shown to customers; empty shows “{DEFAULT_DISPLAY_NAME}”",
    )

    class Meta:
        ordering = ["user__username"]
        verbose_name = "agent profile"

    def __str__(self) -> str:
        return self.display_name or self.DEFAULT_DISPLAY_NAME

    @classmethod
    def display_name_of(cls, user: object) -> str:
        """The display name customers see for `user` (one query unless prefetched)."""
        if user is None or getattr(user, "pk", None) is None:
            return cls.DEFAULT_DISPLAY_NAME
        try:
            profile = user.chat_agent_profile  # type: ignore[attr-defined]
        except cls.DoesNotExist:
            return cls.DEFAULT_DISPLAY_NAME
        return profile.display_name.strip() or cls.DEFAULT_DISPLAY_NAME


# Defaults of a new targets row: the environment's (module-level so migrations can name them).
def default_answer_precision() -> float:
    return float(settings.CHAT_TARGET_ANSWER_PRECISION)


def default_max_oos_answered() -> float:
    return float(settings.CHAT_TARGET_MAX_OOS_ANSWERED)


def default_max_oos_kept() -> float:
    return float(settings.CHAT_TARGET_MAX_OOS_KEPT)


def default_suggest_recall() -> float:
    return float(settings.CHAT_TARGET_SUGGEST_RECALL)


class DecisionTargets(models.Model):
    """The admin's targets for the bot's decision points (one row; none = the CHAT_TARGET_* env).

    Each chat.intent fine-tune chooses its answer and suggest thresholds on its own held-out data
    to meet these (apps.chat.training, ml.training.decision), so a change applies from the next
    training run on.
    """

    answer_precision = models.FloatField(
        default=default_answer_precision,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of the bot's answers that must be right, e.g. 0.97.",
    )
    max_oos_answered = models.FloatField(
        default=default_max_oos_answered,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="At most this share of questions the knowledge base does not cover is answered.",
    )
    max_oos_kept = models.FloatField(
        default=default_max_oos_kept,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="At most this share of them is not offered a person (answered or suggested).",
    )
    suggest_recall = models.FloatField(
        default=default_suggest_recall,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text='"Did you mean" only where the right entry is among the 3 offered this often.',
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "decision targets"
        verbose_name_plural = "decision targets"

    def __str__(self) -> str:
        return f"answers right >= {self.answer_precision:.0%}"

    def clean(self) -> None:
        from ml.training.decision import DecisionTargets as Targets

        try:
            Targets(**self.as_targets_kwargs())
        except (TypeError, ValueError) as exc:
            raise ValidationError(str(exc)) from exc

    def as_targets_kwargs(self) -> dict[str, float]:
        return {
            "answer_precision": self.answer_precision,
            "max_oos_answered": self.max_oos_answered,
            "max_oos_kept": self.max_oos_kept,
            "suggest_recall": self.suggest_recall,
        }
