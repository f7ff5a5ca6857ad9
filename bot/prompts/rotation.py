"""Which prompt a schedule posts next.

Rule: no prompt repeats before every prompt in the pool has been posted once; within a cycle the
next prompt is drawn uniformly among those not yet posted (per-prompt performance is not built yet,
so there is nothing to exploit: the rotation is pure exploration until it is).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence


def pick(pool: Sequence[str], used_this_cycle: Collection[str], rng: random.Random) -> tuple[str, bool]:
    """Return the next prompt key and whether it starts a new cycle (every prompt having been used).

    `pool` is the schedule's current prompt keys; `used_this_cycle` the keys posted since the cycle
    began (keys no longer in the pool are ignored, so a retired prompt doesn't block a new cycle).
    """
    if not pool:
        raise ValueError("an empty pool has nothing to pick")
    used = set(used_this_cycle)
    unused = [key for key in pool if key not in used]
    if unused:
        return rng.choice(unused), False
    return rng.choice(list(pool)), True
