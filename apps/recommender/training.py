"""The ranking model's training data, and queueing its (re)training through the registry.

`recommender.next_item` learns what users did next from the events of every client. A user is
one client's user (`<client id>:<user id>`); item ids are Item primary keys, unique across
clients, so one model serves all shops while each request only ever sees its own client's items.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Q

from apps.recommender.models import Event, Item
from ml.errors import ServiceError
from ml.recsys import Interaction, InteractionData
from ml.registry.models import ModelVersion

logger = logging.getLogger(__name__)

NEXT_ITEM_TASK = "recommender.next_item"


def _interactions() -> Iterator[Interaction]:
    weights = settings.RECOMMENDER_NEXT_ITEM_EVENT_WEIGHTS
    rows = (
        Event.objects.filter(type__in=list(weights))
        .order_by("occurred_at", "id")
        .values_list("client_id", "user_id", "item_id", "occurred_at", "type")
        .iterator(chunk_size=5000)
    )
    for client_id, user_id, item_id, occurred_at, kind in rows:
        yield Interaction(
            user=f"{client_id}:{user_id}",
            item_id=item_id,
            timestamp=occurred_at.timestamp(),
            weight=float(weights[kind]),
        )


def next_item_dataset() -> InteractionData:
    """Every client's users' events in time order, and the text of every item they can buy
    or did touch (removed items stay so old sequences keep their meaning)."""
    items = {
        item.id: item.text()
        for item in Item.objects.filter(Q(removed=False) | Q(events__isnull=False))
        .distinct()
        .only("id", "title", "description", "tags", "category")
        .iterator(chunk_size=2000)
    }
    data = InteractionData.from_interactions(_interactions(), items)
    logger.info(
        "next-item dataset users=%s items=%s interactions=%s",
        data.n_users,
        data.n_items,
        data.n_interactions,
    )
    return data


class RetrainSkipped(ServiceError):
    code = "retrain_skipped"
    status_code = 409


def next_item_retrain_queue(*, notes: str = "scheduled retrain") -> ModelVersion:
    """Queue a new `recommender.next_item` version on the `gpu` queue, unless one is already
    queued or training (a slow run must not pile up behind itself)."""
    from ml.registry.services import model_version_queue

    active = ModelVersion.objects.filter(
        task=NEXT_ITEM_TASK,
        status__in=[ModelVersion.Status.QUEUED, ModelVersion.Status.TRAINING],
    ).first()
    if active is not None:
        raise RetrainSkipped(f"{active} is still {active.status}; not queueing another")
    events = Event.objects.count()
    if events < settings.RECOMMENDER_NEXT_ITEM_MIN_EVENTS:
        raise RetrainSkipped(
            f"{events} events; RECOMMENDER_NEXT_ITEM_MIN_EVENTS="
            f"{settings.RECOMMENDER_NEXT_ITEM_MIN_EVENTS} are needed to train"
        )
    return model_version_queue(task=NEXT_ITEM_TASK, notes=notes)
