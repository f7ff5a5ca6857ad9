"""The rotation never repeats a prompt before the whole pool has been posted."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.prompts.rotation import pick


@given(
    size=st.integers(min_value=1, max_value=40),
    cycles=st.integers(min_value=1, max_value=4),
    seed=st.integers(),
)
def test_no_repeat_before_the_pool_is_exhausted(size: int, cycles: int, seed: int) -> None:
    pool = [f"p{i}" for i in range(size)]
    rng = random.Random(seed)
    used: list[str] = []
    posted: list[str] = []
    for _ in range(size * cycles):
        key, new_cycle = pick(pool, used, rng)
        if new_cycle:
            used = []
        used.append(key)
        posted.append(key)
    for cycle in range(cycles):
        assert sorted(posted[cycle * size : (cycle + 1) * size]) == sorted(pool)


@given(seed=st.integers())
def test_a_prompt_retired_mid_cycle_does_not_block_the_next_cycle(seed: int) -> None:
    rng = random.Random(seed)
    key, new_cycle = pick(["a", "b"], ["a", "gone"], rng)
    assert (key, new_cycle) == ("b", False)
    key, new_cycle = pick(["a", "b"], ["a", "b", "gone"], rng)
    assert new_cycle and key in {"a", "b"}


def test_empty_pool_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        pick([], [], random.Random(0))
