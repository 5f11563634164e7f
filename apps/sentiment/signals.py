"""The monitor's pipeline steps tell each other about new work through these signals.

ingest --articles_ingested--> understanding (score + topic match) --articles_understood--> alerts
Each is sent after the rows it names are committed; receivers queue Celery tasks, never work
inline, so a slow step never holds an ingest request.
"""

from __future__ import annotations

from django.dispatch import Signal

# kwargs: article_ids: list[int] (new rows only, never re-deliveries)
articles_ingested = Signal()
# kwargs: article_ids: list[int], topic_ids: list[int] (topics those articles matched). Sent
# per committed step: understanding announces a batch in chunks (rules), then its matches by
# meaning; a re-scoring announces changed labels; a topic edit its new matches.
articles_understood = Signal()
