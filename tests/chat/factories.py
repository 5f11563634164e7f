"""factory_boy factories for the chat models; shared by every chat test module."""

from __future__ import annotations

import factory

from apps.chat.models import (
    Conversation,
    EntryPhrasing,
    KnowledgeEntry,
    Message,
    UnansweredQuestion,
)


class KnowledgeEntryFactory(factory.django.DjangoModelFactory):
    """An active English entry. Saving it fires the index signals (queued after commit)."""

    class Meta:
        model = KnowledgeEntry

    title = factory.Sequence(lambda n: f"Question number {n}?")
    answer = factory.Sequence(lambda n: f"Answer number {n}. See https://help.example.com/{n}")
    intent = factory.Sequence(lambda n: f"intent-{n}")
    tags = factory.LazyFunction(list)
    language = "en"
    active = True


class EntryPhrasingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EntryPhrasing

    entry = factory.SubFactory(KnowledgeEntryFactory)
    text = factory.Sequence(lambda n: f"another way to ask number {n}")
    source = EntryPhrasing.Source.MANUAL


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    customer_ref = factory.Sequence(lambda n: f"customer-{n}")
    status = Conversation.Status.BOT


class MessageFactory(factory.django.DjangoModelFactory):
    """A customer's text message unless told otherwise."""

    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    sender = Message.Sender.CUSTOMER
    kind = Message.Kind.TEXT
    text = factory.Sequence(lambda n: f"customer message {n}")


class UnansweredQuestionFactory(factory.django.DjangoModelFactory):
    """An open low-confidence question, with the customer message it came from."""

    class Meta:
        model = UnansweredQuestion

    message = factory.SubFactory(MessageFactory, text=factory.SelfAttribute("..text"))
    text = factory.Sequence(lambda n: f"unanswered question {n}")
    reason = UnansweredQuestion.Reason.LOW_CONFIDENCE
    state = UnansweredQuestion.State.OPEN
