"""Chat admin: the knowledge base, the learning loop, conversations, privacy, analytics.

Edges only: every write goes through `apps.chat.services` (or a model save whose signals
update the index), every number on the analytics page comes from `selectors.chat_analytics`.
Importing the package registers every model admin; each concern lives in its own module.
"""

from __future__ import annotations

from apps.chat.admin import (  # noqa: F401  (registers)
    agents,
    conversations,
    decision,
    knowledge,
    learning,
)
from apps.chat.admin.conversations import per_day_chart

__all__ = ["per_day_chart"]
