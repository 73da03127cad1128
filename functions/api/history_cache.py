"""Finished histories kept in the warm container: a finished history never changes.

Kept by execution ARN, not by name: a new run of the same name (after a delete, perhaps in
another container) is another execution. At most CACHE_SIZE (a setting), least recently used
forgotten first.
"""

from collections import OrderedDict
from functools import cache
from typing import Any

from settings import get_settings


class LRU:
    """A small bounded mapping that forgets the least recently used entry first."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str) -> Any:
        if key not in self._items:
            return None
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: str, value: Any) -> None:
        if self.size <= 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def forget(self, key: str) -> None:
        self._items.pop(key, None)


@cache
def histories() -> LRU:
    """The container's finished histories, by execution ARN."""
    return LRU(get_settings().cache_size)


def clear() -> None:
    histories.cache_clear()
