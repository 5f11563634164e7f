"""`manage.py sentiment_seed` queues a first headline model once, from the seed headlines."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from apps.sentiment.understanding.training import HEADLINE_TASK
from ml.registry.models import ModelVersion

pytestmark = pytest.mark.django_db


def test_seed_command_queues_one_first_version_and_then_nothing():
    out = StringIO()
    call_command("sentiment_seed", stdout=out)
    version = ModelVersion.objects.get(task=HEADLINE_TASK)
    assert version.status == "queued" and "seed headlines" in version.notes
    assert f"queued {version}" in out.getvalue()

    again = StringIO()
    call_command("sentiment_seed", stdout=again)
    assert ModelVersion.objects.filter(task=HEADLINE_TASK).count() == 1
    assert "nothing queued" in again.getvalue()
