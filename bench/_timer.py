"""Adding up, during a benchmark, the time spent inside one function of a module or class."""

from __future__ import annotations

import time


class Timer:
    """Replaces `owner.name` with a wrapper that adds each call's duration to `seconds`; `restore` puts it back."""

    def __init__(self, owner, name: str):
        self.owner, self.name, self.original, self.seconds = owner, name, getattr(owner, name), 0.0

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        setattr(owner, name, timed)

    def restore(self) -> None:
        setattr(self.owner, self.name, self.original)
