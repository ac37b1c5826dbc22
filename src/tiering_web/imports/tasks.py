"""Background work of the imports app, run by django-tasks' ``db_worker``."""

from django_tasks import task

from tiering_web.imports import jobs


@task()
def run_import(job_id: int) -> dict:
    """Import a queued job's file (see :func:`tiering_web.imports.jobs.run_job`)."""
    return jobs.run_job(job_id)
