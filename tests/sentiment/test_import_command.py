"""`sentiment_import PATH`: CSV and JSONL, per-line errors in the summary, re-import is a no-op."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.sentiment.models import Article
from tests.sentiment.ingest_fixtures import article_row

pytestmark = pytest.mark.django_db

CSV_TEXT = (
    "id,title,body,url,source,published_at,language\n"
    "a1,Acme cuts guidance,Orders slumped.,https://n.example/a1?utm_source=x,,"
    "2026-06-12T09:30:00Z,\n"
    "a2,,No title here,https://n.example/a2,Wire,2026-06-12T09:30:00Z,en\n"
    'a3,Globex jumps,"Revenue beat,\nand the dividend rose.",https://n.example/a3,Wire,'
    "2026-06-12T09:31:00Z,de\n"
    "a4,Initech probe,Regulator looks at revenue.,https://n.example/a4,Wire,tomorrow,en\n"
)


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("sentiment_import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_csv_import_stores_good_rows_and_names_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "articles.csv"
    path.write_text(CSV_TEXT)

    out, err = _run(str(path), "--source", "File wire")

    assert "articles.csv: 4 rows, created 2, duplicates 0, errors 2" in out
    assert "line 3: title:" in out
    assert "line 6: published_at:" in out  # the quoted body of a3 spans lines 4 and 5
    assert "4/4" in err  # the progress bar reached the end
    acme = Article.objects.get(title="Acme cuts guidance")
    assert (acme.source_name, acme.language, acme.canonical_url) == (
        "File wire",
        "en",
        "https://n.example/a1",
    )
    globex = Article.objects.get(title="Globex jumps")
    assert (globex.source_name, globex.body) == ("Wire", "Revenue beat,\nand the dividend rose.")


def test_importing_the_same_file_again_adds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "articles.csv"
    path.write_text(CSV_TEXT)
    _run(str(path))
    stored = list(Article.objects.values_list("id", "title", "fetched_at"))

    out, _ = _run(str(path))

    assert "created 0, duplicates 2, errors 2" in out
    assert list(Article.objects.values_list("id", "title", "fetched_at")) == stored


def test_jsonl_import_reports_unreadable_lines_and_skips_blank_ones(tmp_path: Path) -> None:
    path = tmp_path / "feed-dump.jsonl"
    path.write_text(
        json.dumps(article_row(1))
        + "\n\n"
        + '{"title": "cut off\n'
        + json.dumps(article_row(2, url="mailto:desk@example.com"))
        + "\n"
        + json.dumps(article_row(3))
        + "\n"
    )

    out, _ = _run(str(path))

    assert "feed-dump.jsonl: 4 rows, created 2, duplicates 0, errors 2" in out
    assert "line 3: not valid JSON" in out
    assert "line 4: url:" in out
    assert Article.objects.count() == 2


def test_format_flag_overrides_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text(json.dumps(article_row(1)) + "\n")

    with pytest.raises(CommandError, match="--format"):
        _run(str(path))
    out, _ = _run(str(path), "--format", "jsonl")
    assert "created 1" in out


def test_missing_file_or_columns_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        _run(str(tmp_path / "absent.csv"))
    headerless = tmp_path / "bad.csv"
    headerless.write_text("headline,when\nAcme,2026-06-12\n")
    with pytest.raises(CommandError, match="published_at, title"):
        _run(str(headerless))
    assert Article.objects.count() == 0
