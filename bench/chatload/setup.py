"""Database and index for a chat load run: Django set up in this process, the knowledge base
inserted with explicit ids, the FAISS index built once and cached by fingerprint."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.chatload.knowledge import KnowledgeBase
from bench.common import ROOT

SQLITE_WAL_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    "transaction_mode": "IMMEDIATE",
}


def django_setup(database_url: str, artifacts: Path, var_dir: Path) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["ML_ARTIFACTS_DIR"] = str(artifacts)
    os.environ["TESSERA_VAR_DIR"] = str(var_dir)
    os.environ["ML_ENCODER_INT8"] = "0"  # the index is always built with the fp32 encoder
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("SECRET_KEY", "bench-chat-load-" + uuid.uuid4().hex * 2)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def database_fill(kb: KnowledgeBase) -> str:
    """Migrate and insert the knowledge base; 'filled', 'reused' or SystemExit if foreign."""
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from apps.chat.models import EntryPhrasing, KnowledgeEntry

    call_command("migrate", verbosity=0, interactive=False)
    n_entries, n_phrasings = KnowledgeEntry.objects.count(), EntryPhrasing.objects.count()
    if n_entries or n_phrasings:
        probe = [kb.phrasings[0], kb.phrasings[len(kb.phrasings) // 2], kb.phrasings[-1]]
        same = (n_entries, n_phrasings) == (len(kb.entries), len(kb.phrasings)) and all(
            EntryPhrasing.objects.filter(id=pid, entry_id=eid, text=text).exists()
            for pid, eid, text, _ in probe
        )
        if not same:
            raise SystemExit(
                f"--database-url holds {n_entries} knowledge entries / {n_phrasings} phrasings "
                "that are not this benchmark's; point it at an empty (throwaway) database"
            )
        return "reused"
    with transaction.atomic():
        KnowledgeEntry.objects.bulk_create(
            [
                KnowledgeEntry(id=eid, title=title, answer=answer, intent=intent)
                for eid, title, answer, intent in kb.entries
            ],
            batch_size=500,
        )
        EntryPhrasing.objects.bulk_create(
            [
                EntryPhrasing(id=pid, entry_id=eid, text=text, source=source)
                for pid, eid, text, source in kb.phrasings
            ],
            batch_size=2000,
        )
    # Explicit ids leave PostgreSQL sequences behind; later inserts must not collide.
    statements = connection.ops.sequence_reset_sql(no_style(), [KnowledgeEntry, EntryPhrasing])
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    return "filled"


def sqlite_journal_mode() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = str(cursor.fetchone()[0])
    connection.close()
    return mode


def sqlite_commit_ms(folder: Path, commits: int = 20) -> float:
    """Time of one small committed write on this disk (SQLite's default journal fsyncs)."""
    import sqlite3

    path = folder / "commit-probe.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("CREATE TABLE probe (x TEXT)")
        started = time.perf_counter()
        for _ in range(commits):
            db.execute("BEGIN")
            db.execute("INSERT INTO probe VALUES ('x')")
            db.execute("COMMIT")
        return round((time.perf_counter() - started) / commits * 1000, 2)
    finally:
        db.close()
        path.unlink(missing_ok=True)


def index_build(total: int) -> float:
    """Encode every phrasing into ML_ARTIFACTS_DIR's chat index; returns seconds."""
    from tqdm import tqdm

    from apps.chat import services

    started = time.perf_counter()
    bar = tqdm(total=total, unit="phrasing", desc="encode knowledge base")

    def progress(fraction: float) -> None:
        bar.update(max(0, round(fraction * total) - bar.n))

    count = services.kb_index_rebuild(batch_size=1024, progress=progress)
    bar.close()
    if count != total:
        raise SystemExit(f"index holds {count} vectors, expected {total}")
    return time.perf_counter() - started


@dataclass
class Setup:
    database_url: str
    artifacts: Path
    var_dir: Path
    info: dict[str, Any]


def prepare(args: argparse.Namespace, kb: KnowledgeBase, run_dir: Path) -> Setup:
    """Database and index for this run: copied / read from the cache, or built and cached."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from config.env import default_base_model_dir

    model = Path(os.environ.get("ML_BASE_MODEL") or default_base_model_dir())
    fingerprint = kb.fingerprint(f"{model.parent.name}/{model.name}")
    cache = args.cache_dir / fingerprint
    artifacts = cache / "artifacts"
    info: dict[str, Any] = {"cache": str(cache), "fingerprint": fingerprint}
    run_db = run_dir / "db.sqlite3"
    if args.database_url:
        database_url = args.database_url
    else:
        database_url = f"sqlite:///{run_db}"
        if args.sqlite_wal:  # django-environ turns the query into DATABASES OPTIONS
            database_url += "?" + urllib.parse.urlencode(SQLITE_WAL_OPTIONS)
        if (cache / "db.sqlite3").is_file():
            shutil.copy2(cache / "db.sqlite3", run_db)
    index_ready = (artifacts / "indexes" / "chat_kb" / "CURRENT").is_file()
    building = cache.with_name(f"{fingerprint}.building-{os.getpid()}")
    django_setup(
        database_url, artifacts if index_ready else building / "artifacts", run_dir / "var"
    )
    started = time.perf_counter()
    info["database"] = database_fill(kb)
    info["database_s"] = round(time.perf_counter() - started, 1)
    if not index_ready:
        if args.build_threads:
            import torch

            torch.set_num_threads(args.build_threads)
        print(f"building the index of {len(kb.phrasings)} phrasings (cached in {cache})")
        info["index_build_s"] = round(index_build(len(kb.phrasings)), 1)
        if not args.database_url:
            sqlite_snapshot(run_db, building / "db.sqlite3")
        cache.parent.mkdir(parents=True, exist_ok=True)
        if cache.exists():  # another run finished first: keep its copy
            shutil.rmtree(building, ignore_errors=True)
        else:
            os.replace(building, cache)
    elif not args.database_url and not (cache / "db.sqlite3").is_file():
        sqlite_snapshot(run_db, cache / "db.sqlite3")
    info["index"] = "built" if "index_build_s" in info else "cached"
    return Setup(database_url, artifacts, run_dir / "var", info)


def sqlite_snapshot(source: Path, target: Path) -> None:
    """Copy the run's SQLite file into the cache, closed and in the default journal mode."""
    import sqlite3

    from django.db import connections

    connections.close_all()  # the last connection to close checkpoints a WAL file
    shutil.copy2(source, target)
    db = sqlite3.connect(target)
    try:
        db.execute("PRAGMA journal_mode=DELETE")  # WAL sticks to the file; runs choose
    finally:
        db.close()
