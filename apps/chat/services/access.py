"""Who may read a conversation: the widget that started it holds a signed token.

The conversation's UUID used to be enough to read its whole history, and UUIDs end up in
URLs, logs and proxies. Now the server signs the UUID when it creates the conversation and
only the widget keeps the token (localStorage); the customer socket asks for it in its first
frame (`hello`), never in the URL. The signature is Django's (SECRET_KEY, a salt of its own),
so a token can be neither forged from the UUID nor reused for another conversation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing

from apps.chat.exceptions import ChatError
from apps.chat.models import Conversation
from apps.chat.services.conversations import conversation_get_or_create

TOKEN_SALT = "apps.chat.conversation-token"  # noqa: S105  (a salt, not a secret)


@dataclass(frozen=True)
class ConversationStart:
    conversation: Conversation
    token: str


def conversation_token_issue(*, conversation: Conversation) -> str:
    """The secret that lets a widget read and continue `conversation`."""
    return signing.dumps(str(conversation.public_id), salt=TOKEN_SALT)


def conversation_start(*, customer_ref: str = "", client_ip: str = "") -> ConversationStart:
    """A new conversation and its token (on the customer's first message, not on connect)."""
    conversation = conversation_get_or_create(
        public_id=uuid.uuid4(), customer_ref=customer_ref, client_ip=client_ip
    )
    return ConversationStart(conversation, conversation_token_issue(conversation=conversation))


def conversation_token_resolve(*, token: str) -> Conversation:
    """The conversation a token was issued for; ChatError `invalid_token` otherwise.

    Tokens expire with the conversations themselves (CHAT_RETENTION_DAYS).
    """
    refused = ChatError(
        "This conversation cannot be resumed; start a new one.", code="invalid_token"
    )
    try:
        public_id = signing.loads(
            token, salt=TOKEN_SALT, max_age=timedelta(days=settings.CHAT_RETENTION_DAYS)
        )
        conversation = Conversation.objects.get(public_id=uuid.UUID(str(public_id)))
    except (signing.BadSignature, ValueError, Conversation.DoesNotExist):
        raise refused from None
    return conversation
