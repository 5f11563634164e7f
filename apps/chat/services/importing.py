"""Bulk import and export of the knowledge base (CSV and JSON), row by row validated.

CSV columns: title,answer,phrasings,tags,language,active,intent (phrasings split on `|`, tags
on `,`). JSON: {"entries": [{title, answer, phrasings: [], tags: [], language, active, intent}],
"out_of_scope": ["question the bot should hand to a person", ...]} (the list is optional), the
shape of apps/chat/demo/faq.json. Rows are upserted by intent (a missing intent is the slug of
the title); an import adds phrasings and out-of-scope examples and never removes any.

The reading and row validation is apps.chat.services.import_validation; this module applies the
valid rows and writes export files.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from apps.chat.models import EntryPhrasing, KnowledgeEntry, OutOfScopeExample
from apps.chat.services.import_validation import (
    CSV_COLUMNS,
    FORMATS,
    IMPORT_MAX_BYTES,
    INTENT_RE,
    PHRASING_SEPARATOR,
    TAG_SEPARATOR,
    KbImportError,
    RowError,
    kb_import_format_guess,
    kb_import_read,
    kb_import_validate,
)
from apps.chat.services.knowledge import entry_create, index_updates_deferred, phrasing_add_many
from apps.chat.services.learning import out_of_scope_examples_add

__all__ = [
    "FORMATS",
    "IMPORT_MAX_BYTES",
    "INTENT_RE",
    "KbImportError",
    "KbImportResult",
    "RowError",
    "kb_export",
    "kb_import",
    "kb_import_format_guess",
    "kb_import_validate",
]

logger = logging.getLogger(__name__)


@dataclass
class KbImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    phrasings_added: int = 0
    out_of_scope_added: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated

    @property
    def failed_rows(self) -> int:
        return len({e.row for e in self.errors})


# --- writing -----------------------------------------------------------------------------------


def kb_import(*, content: bytes, file_format: str) -> KbImportResult:
    """Import the valid rows in one transaction (one index update); report the others."""
    rows, out_of_scope = kb_import_read(content=content, file_format=file_format)
    result = KbImportResult(rows=len(rows))
    for row in rows:
        result.errors.extend(row.errors)
    valid = [row for row in rows if not row.errors]
    with index_updates_deferred(), transaction.atomic():
        existing = {
            e.intent: e
            for e in KnowledgeEntry.objects.filter(intent__in=[row.intent for row in valid])
        }
        for row in valid:
            entry = existing.get(row.intent)
            if entry is None:
                entry = entry_create(
                    title=row.title,
                    answer=row.answer,
                    intent=row.intent,
                    tags=row.tags,
                    language=row.language,
                    active=row.active,
                )
                result.created += 1
            else:
                entry.title, entry.answer = row.title, row.answer
                entry.tags, entry.language, entry.active = row.tags, row.language, row.active
                entry.save()
                result.updated += 1
            result.phrasings_added += phrasing_add_many(
                entry=entry, texts=row.phrasings, source=EntryPhrasing.Source.IMPORT
            )
        result.out_of_scope_added = out_of_scope_examples_add(
            texts=out_of_scope, source=OutOfScopeExample.Source.IMPORT
        )
    logger.info(
        "kb import format=%s rows=%s created=%s updated=%s failed_rows=%s",
        file_format,
        result.rows,
        result.created,
        result.updated,
        result.failed_rows,
    )
    return result


# --- exporting ---------------------------------------------------------------------------------


def _export_rows() -> list[dict[str, Any]]:
    rows = []
    for entry in KnowledgeEntry.objects.order_by("intent").prefetch_related("phrasings"):
        rows.append(
            {
                "intent": entry.intent,
                "title": entry.title,
                "answer": entry.answer,
                # The title phrasing is re-created from the title on import.
                "phrasings": [
                    p.text
                    for p in entry.phrasings.all()
                    if p.source != EntryPhrasing.Source.TITLE and p.text != entry.title
                ],
                "tags": list(entry.tags or []),
                "language": entry.language,
                "active": entry.active,
            }
        )
    return rows


def kb_export(*, file_format: str) -> str:
    """Every entry, active or not, in a file `kb_import` reads back to the same entries.

    CSV cannot carry a `|` inside a phrasing or a `,` inside a tag, nor the out-of-scope
    examples; JSON is lossless.
    """
    rows = _export_rows()
    if file_format == "json":
        out_of_scope = list(
            OutOfScopeExample.objects.order_by("text").values_list("text", flat=True)
        )
        document = {"entries": rows, "out_of_scope": out_of_scope}
        return json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    if file_format != "csv":
        raise KbImportError(f"format must be csv or json, not {file_format!r}")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                **row,
                "phrasings": PHRASING_SEPARATOR.join(row["phrasings"]),
                "tags": TAG_SEPARATOR.join(row["tags"]),
                "active": "true" if row["active"] else "false",
            }
        )
    return out.getvalue()
