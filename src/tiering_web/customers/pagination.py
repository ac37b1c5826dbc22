from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """A paginator that counts at most ``cap + 1`` rows: at a million customers an exact
    ``COUNT(*)`` over a filtered list costs more than the page itself. Past the cap the list
    says "more than" and pages stop at the cap; a narrower search finds the rest."""

    cap = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.values("pk").order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap
