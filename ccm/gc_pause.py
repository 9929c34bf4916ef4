"""`gc_paused()`: no cyclic garbage collection inside a block.

The month close and the call list build tens or hundreds of thousands of small acyclic
objects (facts, decisions, rows), all freed by reference counting. The collector's passes
over them, now and then a full one over every object of the process, cost about as much
as building them; pausing it for the block saves that, and nothing is leaked.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector for the block; re-enable it after, if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
