"""Background work of the call centre (run by ``python -m tiering_web db_worker``)."""

from django_tasks import task


@task()
def rebuild_phone_index() -> dict[str, int]:
    """Bring the whole phone index up to date with the customers' contacts."""
    from tiering_web.callcentre.services import sync_phone_index

    return sync_phone_index()
