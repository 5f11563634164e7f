"""An admin sets the bot's targets (not raw thresholds); the next fine-tune chooses for them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.chat.decision_points import decision_targets_get
from apps.chat.models import DecisionTargets

pytestmark = pytest.mark.django_db

ADD = "admin:chat_decisiontargets_add"


def _form(**overrides: str) -> dict[str, str]:
    return {
        "answer_precision": "0.99",
        "max_oos_answered": "0.02",
        "max_oos_kept": "0.05",
        "suggest_recall": "0.9",
        **overrides,
    }


def test_without_a_row_the_environment_targets_apply(settings) -> None:
    settings.CHAT_TARGET_ANSWER_PRECISION = 0.93

    assert decision_targets_get().answer_precision == 0.93


def test_targets_saved_in_admin_are_the_ones_training_uses(admin_client) -> None:
    response = admin_client.post(reverse(ADD), _form())

    assert response.status_code == 302, response.content.decode()[:2000]
    targets = decision_targets_get()
    assert (targets.answer_precision, targets.max_oos_answered) == (0.99, 0.02)
    assert (targets.max_oos_kept, targets.suggest_recall) == (0.05, 0.9)
    # One row only: the add page is gone once it exists.
    assert admin_client.get(reverse(ADD)).status_code == 403


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("answer_precision", "97", "less than or equal to 1"),
        ("max_oos_answered", "0.2", "exceeds max_oos_kept"),
    ],
)
def test_impossible_targets_are_a_form_error(admin_client, field, value, message) -> None:
    response = admin_client.post(reverse(ADD), _form(**{field: value}))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not DecisionTargets.objects.exists()
