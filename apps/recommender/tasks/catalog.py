"""Celery tasks: catalogue (item index sync, co-occurrence refresh)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from apps.recommender import services
from apps.recommender.models import ShopClient


@shared_task(name="recommender.refresh_cooccurrence", acks_late=True)
def refresh_cooccurrence(client_id: int | None = None) -> list[int]:
    """Recompute co-occurrence for one client, or every active one (the beat schedule)."""
    client_ids = (
        [client_id]
        if client_id is not None
        else list(ShopClient.objects.filter(active=True).values_list("id", flat=True))
    )
    for one in client_ids:
        services.cooccurrence_refresh(client_id=one, now=timezone.now())
    return client_ids
