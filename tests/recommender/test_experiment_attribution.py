"""Clicks and purchases count for the user's latest impression that showed the item, within
the experiment's window; everything else is left out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.recommender.experiments.reports import experiment_report
from apps.recommender.models import EventType, Impression
from tests.recommender.experiment_rows import T0, ab_experiment, event, impression, items, user
from tests.recommender.factories import ShopClientFactory, ShopUserFactory

pytestmark = pytest.mark.django_db

CLICK, PURCHASE, VIEW = EventType.CLICK, EventType.PURCHASE, EventType.VIEW


def _by_name(report):  # noqa: ANN001, ANN202
    return {v.name: v for v in report.variants}


def test_only_events_on_shown_items_after_the_impression_and_inside_the_window_count() -> None:
    experiment = ab_experiment(window_hours=24)
    a, _b = experiment.variants.order_by("id")
    shown, also_shown, not_shown = items(experiment, 3)
    alice, bob = user(experiment), user(experiment)
    impression(a, alice, [shown, also_shown], T0)
    impression(a, bob, [shown], T0)

    event(alice, shown, CLICK, T0 - timedelta(minutes=1))  # before it was shown
    event(alice, not_shown, CLICK, T0 + timedelta(minutes=1))  # never shown
    event(alice, also_shown, VIEW, T0 + timedelta(minutes=1))  # a view is not a click
    event(alice, shown, CLICK, T0 + timedelta(hours=25))  # past the 24 h window
    event(bob, also_shown, CLICK, T0 + timedelta(minutes=2))  # shown to alice, not to bob
    stranger = ShopUserFactory(client=experiment.client)  # no impression at all
    event(stranger, shown, CLICK, T0 + timedelta(minutes=2))
    other_shop_user = ShopUserFactory(client=ShopClientFactory(), external_id=alice.external_id)
    event(other_shop_user, shown, PURCHASE, T0 + timedelta(minutes=2))

    figures = _by_name(experiment_report(experiment=experiment))["A"]
    assert (figures.impressions, figures.users) == (2, 2)
    assert (figures.clicks, figures.ctr.successes, figures.purchases) == (0, 0, 0)

    event(alice, also_shown, CLICK, T0 + timedelta(hours=23, minutes=59))  # inside the window
    event(bob, shown, PURCHASE, T0 + timedelta(hours=2))
    figures = _by_name(experiment_report(experiment=experiment))["A"]
    assert (figures.clicks, figures.ctr.successes, figures.ctr.trials) == (1, 1, 2)
    assert (figures.purchases, figures.conversion.successes, figures.conversion.trials) == (1, 1, 2)


def test_the_window_is_the_experiments_own() -> None:
    experiment = ab_experiment(window_hours=2)
    a = experiment.variants.order_by("id").first()
    (shown,) = items(experiment, 1)
    alice = user(experiment)
    impression(a, alice, [shown], T0)
    event(alice, shown, CLICK, T0 + timedelta(hours=3))
    assert _by_name(experiment_report(experiment=experiment))["A"].clicks == 0

    experiment.attribution_window_hours = 4
    experiment.save()
    assert _by_name(experiment_report(experiment=experiment))["A"].clicks == 1


def test_an_event_counts_once_for_the_latest_impression_that_showed_the_item() -> None:
    experiment = ab_experiment()
    a, b = experiment.variants.order_by("id")
    shown, other = items(experiment, 2)
    alice = user(experiment)
    impression(a, alice, [shown], T0)
    impression(b, alice, [shown, other], T0 + timedelta(minutes=10))
    impression(b, alice, [other], T0 + timedelta(minutes=20))  # latest, but without the item
    event(alice, shown, CLICK, T0 + timedelta(minutes=30))
    event(alice, shown, CLICK, T0 + timedelta(minutes=31))  # a second click, same impression

    figures = _by_name(experiment_report(experiment=experiment))
    assert (figures["A"].impressions, figures["A"].clicks, figures["A"].ctr.successes) == (1, 0, 0)
    assert figures["B"].impressions == 2
    assert figures["B"].clicks == 2  # both click events are attributed ...
    assert figures["B"].ctr.successes == 1  # ... to one impression: the one at +10 minutes


def test_impressions_outside_the_experiment_are_not_its_figures() -> None:
    experiment = ab_experiment()
    a, b = experiment.variants.order_by("id")
    (shown,) = items(experiment, 1)
    alice, bob = user(experiment), user(experiment)
    impression(b, bob, [shown], T0)
    Impression.objects.create(  # served while no experiment ran: no variant
        client=experiment.client,
        user=alice,
        variant=None,
        request_id="no-experiment",
        surface="for_you",
        item_ids=[shown.id],
        shown_at=T0,
    )
    event(alice, shown, CLICK, T0 + timedelta(minutes=1))
    event(bob, shown, PURCHASE, T0 + timedelta(minutes=1))

    figures = _by_name(experiment_report(experiment=experiment))
    assert (figures["A"].impressions, figures["A"].clicks) == (0, 0)
    assert (figures["B"].impressions, figures["B"].purchases, figures["B"].conversion.rate) == (
        1,
        1,
        1.0,
    )
