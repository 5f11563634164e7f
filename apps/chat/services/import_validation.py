"""Reading and validating knowledge-base import files (CSV and JSON); writes nothing.

The file formats are described in apps.chat.services.importing, which applies the rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils.text import slugify

from apps.chat.answering import OUT_OF_SCOPE_INTENT
from apps.chat.exceptions import ChatError
from apps.chat.models import EntryPhrasing, KnowledgeEntry

CSV_COLUMNS = ["title", "answer", "phrasings", "tags", "language", "active", "intent"]
FORMATS = ("csv", "json")
PHRASING_SEPARATOR = "|"
TAG_SEPARATOR = ","

IMPORT_MAX_BYTES = 5 * 1024 * 1024
IMPORT_MAX_ROWS = 5000
TITLE_MAX_CHARS = KnowledgeEntry._meta.get_field("title").max_length
INTENT_MAX_CHARS = KnowledgeEntry._meta.get_field("intent").max_length
LANGUAGE_MAX_CHARS = KnowledgeEntry._meta.get_field("language").max_length
PHRASING_MAX_CHARS = EntryPhrasing._meta.get_field("text").max_length
ANSWER_MAX_CHARS = 5000
PHRASINGS_MAX_COUNT = 200
TAG_MAX_CHARS = 50
TAGS_MAX_COUNT = 20

INTENT_RE = re.compile(r"^[-a-zA-Z0-9_]+\Z")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*\Z")
TRUE_WORDS = {"1", "true", "yes", "y", "on"}
FALSE_WORDS = {"0", "false", "no", "n", "off"}


class KbImportError(ChatError):
    """The file as a whole cannot be read (encoding, syntax, header); no row was imported."""

    code = "invalid_import_file"


@dataclass(frozen=True)
class RowError:
    """`row` is the entry's 1-based position in the file (CSV: the header is not counted)."""

    row: int
    field: str
    message: str


@dataclass
class _Row:
    number: int
    title: str = ""
    answer: str = ""
    intent: str = ""
    phrasings: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    language: str = "en"
    active: bool = True
    errors: list[RowError] = field(default_factory=list)

    def fail(self, field_name: str, message: str) -> None:
        self.errors.append(RowError(self.number, field_name, message))


# --- reading -----------------------------------------------------------------------------------


def kb_import_format_guess(filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in FORMATS:
        raise KbImportError(
            f"cannot tell the format of {filename!r}; name it .csv or .json or pick the format",
            extra={"file": "unknown format"},
        )
    return suffix


def _decode(content: bytes) -> str:
    if len(content) > IMPORT_MAX_BYTES:
        raise KbImportError(
            f"the file is {len(content)} bytes; split it into files under {IMPORT_MAX_BYTES}",
            extra={"file": "too large"},
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KbImportError(
            f"the file is not UTF-8 (byte {exc.start}); save it as UTF-8 and upload again",
            extra={"file": "not utf-8"},
        ) from exc


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in (reader.fieldnames or [])]
    if not header:
        raise KbImportError("the CSV file is empty", extra={"file": "empty"})
    unknown = [name for name in header if name not in CSV_COLUMNS]
    missing = [name for name in ("title", "answer") if name not in header]
    if unknown or missing:
        problems = []
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        raise KbImportError(
            f"CSV header: {'; '.join(problems)}; expected {','.join(CSV_COLUMNS)}",
            extra={"file": "bad header"},
        )
    reader.fieldnames = header
    yield from enumerate(reader, start=1)


def _json_document(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KbImportError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            extra={"file": "invalid json"},
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise KbImportError(
            'the JSON file must be an object with an "entries" list: {"entries": [...]}',
            extra={"file": "no entries list"},
        )
    out_of_scope = data.get("out_of_scope", [])
    bad = (
        next((i for i, item in enumerate(out_of_scope, 1) if not isinstance(item, str)), None)
        if isinstance(out_of_scope, list)
        else 0
    )
    if bad is not None:
        where = f" (item {bad} is not)" if bad else ""
        raise KbImportError(
            f'"out_of_scope" must be a list of question strings{where}',
            extra={"file": "bad out_of_scope list"},
        )
    return data


# --- validating --------------------------------------------------------------------------------


def _text(row: _Row, name: str, value: Any, *, required: bool, max_chars: int) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        row.fail(name, "must be text")
        return ""
    value = value.strip()
    if required and not value:
        row.fail(name, "is required")
    elif len(value) > max_chars:
        row.fail(name, f"is {len(value)} characters; the limit is {max_chars}")
    return value


def _text_list(
    row: _Row, name: str, value: Any, *, separator: str, max_count: int, max_chars: int
) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # CSV cell, or a JSON value given as one string
        items = value.split(separator)
    elif isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            row.fail(name, "must be a list of strings")
            return []
        items = value
    else:
        row.fail(name, "must be a list of strings")
        return []
    cleaned: list[str] = []
    for item in items:
        item = " ".join(item.split())
        if item and item not in cleaned:
            cleaned.append(item)
    if len(cleaned) > max_count:
        row.fail(name, f"has {len(cleaned)} items; the limit is {max_count}")
    for position, item in enumerate(cleaned, start=1):
        if len(item) > max_chars:
            row.fail(name, f"item {position} is {len(item)} characters; the limit is {max_chars}")
    return cleaned


def _boolean(row: _Row, name: str, value: Any) -> bool:
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    row.fail(name, f"{value!r} is not a boolean; use true or false")
    return True


def _row_validate(number: int, record: Any, *, from_csv: bool) -> _Row:
    row = _Row(number=number)
    if not isinstance(record, dict):
        row.fail("entry", "must be an object with title, answer, ...")
        return row
    if from_csv and record.get(None):  # DictReader puts surplus cells under None
        row.fail("row", f"has {len(record[None])} more cell(s) than the header")
    unknown = sorted(str(k) for k in record if k is not None and k not in CSV_COLUMNS)
    if unknown:
        row.fail("entry", f"unknown field(s) {', '.join(unknown)}")
    row.title = _text(row, "title", record.get("title"), required=True, max_chars=TITLE_MAX_CHARS)
    row.answer = _text(
        row, "answer", record.get("answer"), required=True, max_chars=ANSWER_MAX_CHARS
    )
    intent = _text(row, "intent", record.get("intent"), required=False, max_chars=INTENT_MAX_CHARS)
    if not intent and row.title:
        intent = slugify(row.title)[:INTENT_MAX_CHARS].strip("-")
        if not intent:
            row.fail("intent", "cannot be derived from this title; give an intent")
    elif intent and not INTENT_RE.match(intent):
        row.fail("intent", f"{intent!r} is not a slug; use letters, digits, - and _ only")
    elif intent == OUT_OF_SCOPE_INTENT:
        row.fail("intent", f"{intent!r} is reserved for out-of-scope questions")
    row.intent = intent
    row.phrasings = _text_list(
        row,
        "phrasings",
        record.get("phrasings"),
        separator=PHRASING_SEPARATOR,
        max_count=PHRASINGS_MAX_COUNT,
        max_chars=PHRASING_MAX_CHARS,
    )
    row.tags = _text_list(
        row,
        "tags",
        record.get("tags"),
        separator=TAG_SEPARATOR,
        max_count=TAGS_MAX_COUNT,
        max_chars=TAG_MAX_CHARS,
    )
    language = _text(
        row, "language", record.get("language"), required=False, max_chars=LANGUAGE_MAX_CHARS
    )
    if language and not LANGUAGE_RE.match(language):
        row.fail("language", f"{language!r} is not a language code such as en or pt-BR")
    row.language = language or "en"
    row.active = _boolean(row, "active", record.get("active"))
    return row


def kb_import_validate(*, content: bytes, file_format: str) -> list[_Row]:
    """Every row of the file with its errors; raises KbImportError if the file is unreadable."""
    return kb_import_read(content=content, file_format=file_format)[0]


def kb_import_read(*, content: bytes, file_format: str) -> tuple[list[_Row], list[str]]:
    """The validated rows and the out-of-scope examples (JSON only), from one parse."""
    if file_format not in FORMATS:
        raise KbImportError(f"format must be csv or json, not {file_format!r}")
    text = _decode(content)
    out_of_scope: list[str] = []
    if file_format == "csv":
        records: Iterator[tuple[int, Any]] = _csv_records(text)
    else:
        document = _json_document(text)
        records = enumerate(document["entries"], start=1)
        out_of_scope = document.get("out_of_scope", [])
    rows: list[_Row] = []
    for number, record in records:
        if number > IMPORT_MAX_ROWS:
            raise KbImportError(
                f"the file has more than {IMPORT_MAX_ROWS} entries; split it",
                extra={"file": "too many rows"},
            )
        rows.append(_row_validate(number, record, from_csv=file_format == "csv"))
    first_row_of: dict[str, int] = {}
    for row in rows:
        if not row.intent or any(e.field == "intent" for e in row.errors):
            continue
        first = first_row_of.setdefault(row.intent, row.number)
        if first != row.number:
            row.fail("intent", f"{row.intent!r} is already used by row {first} of this file")
    return rows, out_of_scope
