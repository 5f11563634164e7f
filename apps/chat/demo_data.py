"""The demo knowledge base: a small online bank's FAQ shipped with the project."""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction

from apps.chat.models import KnowledgeEntry, OutOfScopeExample

DEMO_FAQ = Path(__file__).resolve().parent / "demo" / "faq.json"


def load_demo_knowledge_base(path: Path = DEMO_FAQ) -> str:
    """Create the entries that are missing (by intent) and rebuild the index; idempotent."""
    from apps.chat import services

    data = json.loads(path.read_text(encoding="utf-8"))
    rows = data["entries"]
    created = 0
    with services.index_updates_deferred(enqueue=False), transaction.atomic():
        for row in rows:
            if KnowledgeEntry.objects.filter(intent=row["intent"]).exists():
                continue
            services.entry_create(
                title=row["title"],
                answer=row["answer"],
                phrasings=row["phrasings"],
                intent=row["intent"],
                tags=row.get("tags", []),
            )
            created += 1
        # Questions the demo bank does not answer (weather, crypto, loans, ...): the demo's
        # chat.intent fine-tune learns them, so such questions get a person.
        examples = services.out_of_scope_examples_add(
            texts=data.get("out_of_scope", []), source=OutOfScopeExample.Source.DEMO
        )
    vectors = services.kb_index_rebuild()
    return (
        f"{created} FAQ entries added ({len(rows)} in the demo set), {vectors} phrasings "
        f"indexed, {examples} out-of-scope examples added"
    )
