"""The API's page-number paging, with the bounds the server enforces written into the
schema: ``page`` from 1 to :data:`MAX_PAGE`; a ``page_size`` above :data:`MAX_PAGE_SIZE`
is served as that size, as django-ninja does (the schema says so). Without the upper
bound a page number of forty digits reached the database as an ``OFFSET`` no integer
type holds, and the answer was a 500; now it is a 422 naming the parameter."""

from __future__ import annotations

from ninja import Field, Schema
from ninja.conf import settings
from ninja.pagination import PageNumberPagination

#: The highest page number asked for (a million pages of the largest size is far past
#: any list the API serves: it answers an empty page there).
MAX_PAGE = 1_000_000
#: The largest page (django-ninja's ``NINJA_MAX_PER_PAGE_SIZE``, 100 by default).
MAX_PAGE_SIZE = settings.PAGINATION_MAX_PER_PAGE_SIZE


class Paging(PageNumberPagination):
    """:class:`ninja.pagination.PageNumberPagination` with bounded inputs."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(
            None, ge=1, description=f"rows per page; at most {MAX_PAGE_SIZE} are served"
        )
