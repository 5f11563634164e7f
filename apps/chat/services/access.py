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
from django.utils import timezone

from apps.chat.exceptions import ChatError
from apps.chat.models import Conversation, Message
from apps.chat.services.conversations import _hash_ip, conversation_get_or_create

TOKEN_SALT = "apps.chat.conversation-token"  # noqa: S105  (a salt, not a secret)
# A first message resent without a token finds the conversation it started for this long.
FIRST_MESSAGE_RESEND_S = 600
# Shorter client ids could be guessed, so they never find an earlier conversation (the
# widget's are UUIDs).
FIRST_MESSAGE_MIN_ID_CHARS = 16


@dataclass(frozen=True)
class ConversationStart:
    conversation: Conversation
    token: str
    resumed: bool = False  # an earlier start, found again by its first message


def conversation_token_issue(*, conversation: Conversation) -> str:
    """The secret that lets a widget read and continue `conversation`."""
    return signing.dumps(str(conversation.public_id), salt=TOKEN_SALT)


def conversation_start(
    *, customer_ref: str = "", client_ip: str = "", first_client_msg_id: str = ""
) -> ConversationStart:
    """A new conversation and its token (on the customer's first message, not on connect).

    A widget that is reloaded after sending its first message but before `conversation_started`
    reached it has no token, and resends that message on its new socket. The conversation
    the message already started (same address and customer, same client_msg_id, minutes ago)
    is handed back then, with a fresh token, instead of starting a second one.
    """
    earlier = _started_by_message(first_client_msg_id, customer_ref, client_ip)
    if earlier is not None:
        return ConversationStart(earlier, conversation_token_issue(conversation=earlier), True)
    conversation = conversation_get_or_create(
        public_id=uuid.uuid4(), customer_ref=customer_ref, client_ip=client_ip
    )
    return ConversationStart(conversation, conversation_token_issue(conversation=conversation))


def _started_by_message(
    client_msg_id: str, customer_ref: str, client_ip: str
) -> Conversation | None:
    if not client_ip or len(client_msg_id) < FIRST_MESSAGE_MIN_ID_CHARS:
        return None
    return (
        Conversation.objects.filter(
            created_at__gte=timezone.now() - timedelta(seconds=FIRST_MESSAGE_RESEND_S),
            client_ip_hash=_hash_ip(client_ip),
            customer_ref=customer_ref[:100],
            messages__sender=Message.Sender.CUSTOMER,
            messages__client_msg_id=client_msg_id[:64],
        )
        .order_by("id")
        .first()
    )


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
