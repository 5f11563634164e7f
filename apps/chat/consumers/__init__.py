"""Websocket edges of the support chat: customers (/ws/chat/) and agents (/ws/agent/).

Both consumers parse and validate frames (apps.chat.protocol), call services in worker
threads and broadcast what changed through a channel-layer group per conversation, so every
tab of a customer and every console watching the conversation sees the same stream. The
protocol is documented in docs/chat-protocol.md.

Service calls run with `thread_sensitive=False`: a bot reply waits on the model batcher and
must not hold up other conversations' database work on Django's single sync thread.
"""

from apps.chat.consumers.agent import AgentConsumer
from apps.chat.consumers.customer import ChatConsumer

__all__ = ["AgentConsumer", "ChatConsumer"]
