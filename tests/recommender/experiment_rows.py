"""Hand-built experiments, impressions and events for the A/B report and admin tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from apps.recommender.models import (
    Event,
    EventType,
    Experiment,
    Impression,
    Item,
    ShopUser,
    Variant,
)
from tests.recommender.factories import ItemFactory, ShopClientFactory, ShopUserFactory

T0 = datetime.fromisoformat("2026-03-02T09:00:00+00:00")


def ab_experiment(*, window_hours: int = 24, shares: tuple[float, ...] = (0.5, 0.5)) -> Experiment:
    client = ShopClientFactory()
    experiment = Experiment.objects.create(
        client=client,
        name="ranker-vs-popular",
        salt="s1",
        status=Experiment.Status.RUNNING,
        started_at=T0,
        attribution_window_hours=window_hours,
    )
    for name, share in zip("ABCDEFG", shares, strict=False):
        Variant.objects.create(experiment=experiment, name=name, traffic_share=share)
    return experiment


def items(experiment: Experiment, n: int) -> list[Item]:
    return [ItemFactory(client=experiment.client) for _ in range(n)]


def user(experiment: Experiment) -> ShopUser:
    return ShopUserFactory(client=experiment.client)


_sequence = [0]


def impression(
    variant: Variant, user: ShopUser, shown: list[Item], at: datetime, surface: str = "for_you"
) -> Impression:
    _sequence[0] += 1
    return Impression.objects.create(
        client=user.client,
        user=user,
        variant=variant,
        request_id=f"req-{_sequence[0]}",
        surface=surface,
        item_ids=[item.id for item in shown],
        shown_at=at,
    )


def event(user: ShopUser, item: Item, kind: str, at: datetime) -> Event:
    _sequence[0] += 1
    return Event.objects.create(
        client=user.client,
        external_id=f"ev-{_sequence[0]}",
        user=user,
        item=item,
        type=kind,
        occurred_at=at,
    )


def bulk_outcomes(
    variant: Variant, *, impressions: int, clicked: int, users_bought: int, item: Item
) -> None:
    """`impressions` users with one impression each; the first `clicked` click the shown item,
    the first `users_bought` of them buy it an hour later."""
    client = variant.experiment.client
    users = ShopUser.objects.bulk_create(
        ShopUser(client=client, external_id=f"{variant.name}-{i}") for i in range(impressions)
    )
    Impression.objects.bulk_create(
        Impression(
            client=client,
            user=u,
            variant=variant,
            request_id=f"{variant.pk}-{u.pk}",
            surface="for_you",
            item_ids=[item.id],
            shown_at=T0,
        )
        for u in users
    )
    Event.objects.bulk_create(
        [
            Event(
                client=client,
                external_id=f"c-{u.pk}",
                user=u,
                item=item,
                type=EventType.CLICK,
                occurred_at=T0 + timedelta(minutes=5),
            )
            for u in users[:clicked]
        ]
        + [
            Event(
                client=client,
                external_id=f"p-{u.pk}",
                user=u,
                item=item,
                type=EventType.PURCHASE,
                occurred_at=T0 + timedelta(hours=1),
            )
            for u in users[:users_bought]
        ]
    )
