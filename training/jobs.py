"""Long jobs: on RQ workers over Redis when REDIS_URL is set, inline otherwise (the embedded default).

A job is a plain function named by its dotted path; it runs inside an app context and commits its
own work, so the same function serves the inline path, the worker and the CLI.
"""
from __future__ import annotations

import importlib

from flask import current_app, has_app_context

DEFAULT_QUEUE = "default"


def _function(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def run_job(path: str, args: tuple = (), kwargs: dict | None = None):
    """Run a job function in an app context (the worker builds its own from the environment)."""
    from training.extensions import db

    def call():
        try:
            result = _function(path)(*args, **(kwargs or {}))
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            raise

    if has_app_context():
        return call()
    from training import create_app

    with create_app().app_context():
        return call()


def queue(name: str | None = None):
    from redis import Redis
    from rq import Queue

    return Queue(name or DEFAULT_QUEUE, connection=Redis.from_url(current_app.config["REDIS_URL"]))


def enqueue(path: str, *args, queue_name: str | None = None, **kwargs):
    """Queue `path(*args, **kwargs)` on RQ when REDIS_URL is set; otherwise run it now.

    Returns the RQ job, or the function's result when it ran inline.
    """
    if current_app.config.get("REDIS_URL"):
        return queue(queue_name).enqueue(run_job, path, args, kwargs, job_timeout=3600)
    return _function(path)(*args, **kwargs)


def register_cli(app) -> None:
    import click

    @app.cli.command("worker")
    @click.option("--queues", default=DEFAULT_QUEUE, show_default=True, help="Comma-separated queue names.")
    @click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
    def worker_command(queues: str, burst: bool) -> None:
        """Run an RQ worker for the long jobs (needs REDIS_URL)."""
        import sys

        from redis import Redis
        from rq import Worker

        url = current_app.config.get("REDIS_URL")
        if not url:
            click.echo("Lỗi: chưa đặt REDIS_URL; không có hàng đợi để xử lý (no REDIS_URL).", err=True)
            sys.exit(1)
        names = [name.strip() for name in queues.split(",") if name.strip()]
        Worker(names, connection=Redis.from_url(url)).work(burst=burst)
