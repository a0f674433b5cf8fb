"""The rendered-card cache, counted: `{% cache %}` reads it with `get`, so a hit or a miss per
card shows on the metrics endpoint."""

from django.core.cache.backends.locmem import LocMemCache

from . import metrics

_MISSING = object()


class CountedLocMemCache(LocMemCache):
    def __init__(self, name, params):
        super().__init__(name, params)
        # The `LOCATION`, which names what is cached ("cards"), is the metric's label.
        self._name = name

    def get(self, key, default=None, version=None):
        value = super().get(key, _MISSING, version)
        metrics.cache_lookup(self._name, hit=value is not _MISSING)
        return default if value is _MISSING else value
