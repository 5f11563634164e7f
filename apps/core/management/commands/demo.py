"""`manage.py demo`: migrate, load demo data, fine-tune demo models, then run the whole suite."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.urls import NoReverseMatch, reverse
from tqdm import tqdm

from apps.core.demo import (
    demo_contributions,
    demo_environment,
    demo_processes,
    demo_rescore_now,
)
from ml.registry import selectors, services
from ml.registry.catalog import training_task_get

ROOT = Path(settings.BASE_DIR)


def serve_environment(host: str, port: int) -> dict[str, str]:
    """The demo processes' environment: the shell's, then the apps' demo variables (which win:
    e.g. mail goes to the demo's own SMTP server), and links in emails pointing at this server
    (PUBLIC_BASE_URL, unless the shell sets it)."""
    env = {**os.environ, **demo_environment(), "PYTHONUNBUFFERED": "1"}
    browsable = "localhost" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    env.setdefault("PUBLIC_BASE_URL", f"http://{browsable}:{port}")
    return env


def _metrics_summary(metrics: dict) -> str:
    """A classifier's accuracy and macro-F1, or a ranking model's NDCG@10 and Recall@10."""
    if "ndcg_at_10" in metrics:
        return (
            f"NDCG@10 {metrics['ndcg_at_10']:.3f}, Recall@10 {metrics.get('recall_at_10', 0):.3f}"
        )
    return f"accuracy {metrics.get('accuracy', 0):.3f}, macro-F1 {metrics.get('macro_f1', 0):.3f}"


class Command(BaseCommand):
    help = "Set up the demo (data, models, admin login) and run web, worker and beat."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="prepare only, start nothing")
        parser.add_argument("--skip-training", action="store_true")
        parser.add_argument("--retrain", action="store_true", help="fine-tune even if promoted")

    def handle(self, *args, **options) -> None:  # noqa: ANN002, ANN003
        self.stdout.write(self.style.MIGRATE_HEADING("1/4 database"))
        call_command("migrate", interactive=False, verbosity=0)
        password = self._admin_login()

        self.stdout.write(self.style.MIGRATE_HEADING("2/4 demo data"))
        for contribution in demo_contributions():
            self.stdout.write(f"  {contribution.app}: {contribution.load_data()}")

        self.stdout.write(self.style.MIGRATE_HEADING("3/4 demo models"))
        if not options["skip_training"]:
            for contribution in demo_contributions():
                for task in contribution.training_tasks:
                    self._fine_tune(
                        task, contribution.hyperparameters.get(task, {}), force=options["retrain"]
                    )

        base = f"http://{options['host']}:{options['port']}"
        self.stdout.write(self.style.MIGRATE_HEADING("4/4 running"))
        self.stdout.write(
            f"  mode: {settings.TESSERA_MODE} (REDIS_URL={settings.REDIS_URL or 'unset'})"
        )
        for name, value in demo_environment().items():
            self.stdout.write(f"  {name}={value}")
        for title, url in self._urls():
            self.stdout.write(f"  {title:<22} {base}{url}")
        self.stdout.write(f"  admin login: admin / {password}")
        if options["no_serve"]:
            return
        self._serve(options["host"], options["port"])

    def _admin_login(self) -> str:
        """A fresh password every run, printed: the demo database is the user's own."""
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(
            username="admin", defaults={"email": "admin@localhost"}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password

    def _fine_tune(self, task: str, hyperparameters: dict, *, force: bool) -> None:
        if training_task_get(task) is None:
            # An app may name a task another part registers; the demo runs without it.
            self.stderr.write(f"  {task}: not registered in this build; skipped")
            return
        current = selectors.production_version(task=task)
        if current is not None and not force:
            self.stdout.write(
                f"  {task}: v{current.version} already in production "
                f"({_metrics_summary(current.metrics)}); --retrain to redo"
            )
            return
        version = services.model_version_queue(
            task=task, hyperparameters=hyperparameters, notes="demo", enqueue=False
        )
        bar = tqdm(total=100, desc=f"  {task} v{version.version}", unit="%", leave=True)
        last = [0]

        def on_progress(fraction: float, message: str) -> None:
            value = int(fraction * 100)
            bar.update(max(0, value - last[0]))
            bar.set_postfix_str(message[:40])
            last[0] = max(last[0], value)

        trained = services.model_version_train(version_id=version.id, on_progress=on_progress)
        bar.update(100 - last[0])
        bar.close()
        services.model_version_promote(version=trained)
        self.stdout.write(
            f"  {task}: v{trained.version} promoted, {_metrics_summary(trained.metrics)}, "
            f"{trained.train_seconds:.0f}s on {trained.device}"
        )
        rescored = demo_rescore_now(version_id=trained.id)
        if rescored:
            self.stdout.write(f"  {task}: {rescored} recent items re-scored by v{trained.version}")

    def _urls(self) -> list[tuple[str, str]]:
        names = [("Start page", "home")]
        for contribution in demo_contributions():
            names.extend(contribution.urls)
        names += [
            ("API docs", "api-docs"),
            ("Admin", "admin:index"),
            ("Model registry", "admin:registry_modelversion_changelist"),
            ("Metrics", "metrics"),
        ]
        urls = []
        for title, name in names:
            try:
                urls.append((title, reverse(name)))
            except NoReverseMatch:
                continue
        return urls

    def _serve(self, host: str, port: int) -> None:
        python = sys.executable
        commands = {
            "web": [python, "-m", "daphne", "-b", host, "-p", str(port), "config.asgi:application"],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                "default,gpu",
                "--concurrency",
                "1",
                "--prefetch-multiplier",
                "1",
                "-n",
                "demo@%h",
                "--loglevel",
                "INFO",
            ],
            "beat": [python, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"],
        }
        for name, arguments in demo_processes().items():
            commands[name] = [python, "manage.py", *arguments]
        env = serve_environment(host, port)
        processes = {
            name: subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
            for name, command in commands.items()
        }
        self.stdout.write(
            self.style.SUCCESS(f"  {', '.join(processes)} started; Ctrl-C stops them")
        )
        stopping = False

        def stop(*_args: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with {process.returncode}; stopping")
                        stopping = True
                time.sleep(0.5)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
