"""Conversation heat: one flag per conversation, escalation only when it gets worse, reasons with ids."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conflict.heat import FlagState, HeatTracker, Observation, Reason, measure

A, B, C, D = 1, 2, 3, 4
KEY = (100, 200)
THRESHOLD = 1.5
_ids = itertools.count(1)


def msg(
    author: int, at: float, score: float, *targets: int, kinds: tuple[str, ...] = ("insult",)
) -> Observation:
    hostile = score >= 0.31
    return Observation(next(_ids), author, tuple(targets), at, score, hostile, kinds if hostile else ())


def feed(tracker: HeatTracker, *messages: Observation) -> list[str]:
    return [tracker.observe(KEY, m, THRESHOLD).decision for m in messages]


def test_heated_exchange_is_flagged_once_not_once_per_message() -> None:
    tracker = HeatTracker()
    decisions = feed(
        tracker,
        msg(A, 0, 0.9, B),
        msg(B, 20, 0.9, A),
        msg(A, 40, 0.95, B),
        msg(B, 60, 0.95, A),
        msg(A, 80, 0.97, B),
    )
    assert decisions.count("flag") == 1
    assert "escalate" not in decisions


def test_friendly_banter_with_low_scores_is_never_flagged() -> None:
    tracker = HeatTracker()
    decisions = feed(tracker, *(msg(A if i % 2 else B, i * 10, 0.15, B if i % 2 else A) for i in range(12)))
    assert set(decisions) == {"none"}


def test_a_hostile_message_aimed_at_nobody_adds_no_heat() -> None:
    heat, reasons, members, _ = measure([msg(A, 0, 0.99), msg(B, 5, 0.99)])
    assert heat == 0 and reasons == () and members == ()


def test_reasons_name_the_target_the_pile_on_and_the_pace() -> None:
    window = [msg(A, 0, 0.8, D), msg(B, 30, 0.9, D), msg(C, 60, 0.7, D)]
    heat, reasons, members, evidence = measure(window)
    codes = {r.code: r.params for r in reasons}
    assert codes["insult_at"]["target"] == D
    assert codes["pile_on"] == {"target": D, "members": 3}
    assert codes["negative_replies"] == {"count": 3, "minutes": 1}
    assert members == (A, B, C, D)
    assert [o.author_id for o in evidence] == [A, B, C]
    assert heat > 0.8 + 0.9 + 0.7


def test_threat_is_named_as_such_and_weighs_more() -> None:
    threat = measure([msg(A, 0, 0.9, B, kinds=("threat",))])
    insult = measure([msg(A, 0, 0.9, B)])
    assert threat[1][0].code == "threat_at"
    assert threat[0] > insult[0]


def test_back_and_forth_and_rising_hostility_are_reasons() -> None:
    window = [msg(A, 0, 0.35, B), msg(B, 200, 0.6, A), msg(A, 400, 0.95, B)]
    _, reasons, _, _ = measure(window)
    codes = [r.code for r in reasons]
    assert "mutual" in codes and "rising" in codes
    assert "negative_replies" not in codes


def test_cooldown_then_escalation_only_when_clearly_worse() -> None:
    tracker = HeatTracker(cooldown_seconds=1800, escalate_factor=1.5, escalate_gap_seconds=300)
    assert feed(tracker, msg(A, 0, 0.9, B), msg(B, 10, 0.9, A)) == ["none", "flag"]
    # Much worse, but too soon after the flag: moderators already know.
    assert feed(tracker, msg(C, 30, 0.9, A)) == ["none"]
    # Later and worse than 1.5x the flagged heat: escalate once.
    assert feed(tracker, msg(D, 320, 0.95, A, kinds=("threat",))) == ["escalate"]
    assert feed(tracker, msg(A, 330, 0.5, D)) == ["none"]


def test_after_cooldown_a_new_conversation_is_a_new_flag() -> None:
    tracker = HeatTracker(cooldown_seconds=1800)
    assert feed(tracker, msg(A, 0, 0.9, B), msg(B, 10, 0.9, A))[-1] == "flag"
    assert feed(tracker, msg(A, 4000, 0.9, B), msg(B, 4010, 0.9, A))[-1] == "flag"


def test_old_messages_slide_out_of_the_window() -> None:
    tracker = HeatTracker(window_seconds=600)
    assert feed(tracker, msg(A, 0, 0.9, B), msg(B, 700, 0.9, A)) == ["none", "none"]
    assert [o.at for o in tracker.recent(KEY, 700)] == [700]


def test_a_message_is_counted_once_even_if_observed_twice() -> None:
    tracker = HeatTracker()
    first = msg(A, 0, 0.9, B)
    tracker.observe(KEY, first, THRESHOLD)
    assert tracker.seen(KEY, first.message_id)
    again = tracker.observe(KEY, first, THRESHOLD)
    assert again.decision == "none" and len(tracker.recent(KEY, 0)) == 1


def test_memory_is_bounded_in_channels_and_messages() -> None:
    tracker = HeatTracker(max_channels=3, max_messages=4)
    for channel in range(10):
        for i in range(10):
            tracker.observe((1, channel), msg(A, i, 0.1, B), THRESHOLD)
    assert len(tracker) == 3
    assert len(tracker.recent((1, 9), 9)) == 4


def test_reason_round_trips_through_json() -> None:
    reason = Reason("pile_on", {"target": 5, "members": 3})
    assert Reason.from_json(reason.to_json()) == reason


def test_a_restored_flag_state_keeps_the_cooldown_and_the_escalation_baseline() -> None:
    tracker = HeatTracker(cooldown_seconds=1800, escalate_factor=1.5, escalate_gap_seconds=300)
    tracker.restore(KEY, FlagState(flagged_at=0, heat=2.5))
    # As hot as when it was flagged, with an empty window (restart): no second flag.
    assert feed(tracker, msg(A, 400, 0.9, B), msg(B, 410, 0.9, A), msg(A, 420, 0.9, B)) == ["none"] * 3
    # Worse than 1.5x the restored heat: an escalation, not a new flag.
    assert feed(tracker, msg(C, 430, 0.95, B, kinds=("threat",)))[-1] == "escalate"
    state = tracker.flag_state(KEY)
    assert state is not None and state.flagged_at == 430 and state.heat >= 3.75


def test_evicting_a_window_to_bound_memory_keeps_its_cooldown() -> None:
    tracker = HeatTracker(max_channels=1, cooldown_seconds=1800)
    assert feed(tracker, msg(A, 0, 0.9, B), msg(B, 10, 0.9, A))[-1] == "flag"
    tracker.observe((100, 999), msg(C, 20, 0.1, D), THRESHOLD)  # another channel pushes this window out
    tracker.forget(KEY)
    assert feed(tracker, msg(A, 30, 0.9, B), msg(B, 40, 0.9, A)) == ["none", "none"]


def test_flag_states_past_the_cooldown_are_dropped() -> None:
    tracker = HeatTracker(cooldown_seconds=1800)
    tracker.restore((1, 1), FlagState(0, 2.0))
    tracker.restore((1, 2), FlagState(2000, 2.0))
    assert tracker.flag_state((1, 1)) is None and tracker.flag_state((1, 2)) is not None


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from((A, B, C, D)),
            st.floats(0, 120),  # seconds since the previous message
            st.floats(0, 1),
            st.lists(st.sampled_from((A, B, C, D)), max_size=2),
        ),
        max_size=80,
    )
)
def test_reusing_the_last_measure_gives_what_measuring_every_time_gives(
    steps: list[tuple[int, float, float, list[int]]],
) -> None:
    # The tracker measures the window again only when a message aimed at someone joins or leaves it,
    # and not even then while no hostile aimed message is in it or joins it.
    tracker = HeatTracker(window_seconds=300, max_messages=10)
    window: list[Observation] = []
    at = 0.0
    for author, gap, score, targets in steps:
        at += gap
        obs = msg(author, at, score, *[t for t in targets if t != author])
        result = tracker.observe(KEY, obs, THRESHOLD)
        window = [o for o in [*window, obs][-10:] if at - o.at <= 300]
        heat, reasons, members, evidence = measure(window)
        assert (result.heat, result.reasons, result.members, result.evidence) == (
            heat,
            reasons,
            members,
            evidence,
        )


def test_addressee_is_who_spoke_to_the_author_else_whom_they_spoke_to_else_the_only_other() -> None:
    key = (1, 10)

    def tracker_with(*lines: tuple[int, float, tuple[int, ...]]) -> HeatTracker:
        tracker = HeatTracker()
        for message_id, (author, at, targets) in enumerate(lines):
            tracker.observe(key, Observation(message_id, author, targets, at, 0.0, False), 1.0)
        return tracker

    # 300 spoke to 100 most recently, though 200 spoke last.
    tracker = tracker_with((200, 0.0, ()), (300, 10.0, (100,)), (200, 20.0, ()))
    assert tracker.addressee(key, 100, since=0.0) == 300
    # Nobody spoke to 100, who last spoke to 200.
    tracker = tracker_with((100, 0.0, (200,)), (300, 10.0, ()), (200, 20.0, ()))
    assert tracker.addressee(key, 100, since=0.0) == 200
    # Only one other member spoke: them.
    tracker = tracker_with((200, 0.0, ()), (100, 10.0, ()), (200, 20.0, ()))
    assert tracker.addressee(key, 100, since=0.0) == 200
    # Two others, neither to nor with 100: not clear, nobody.
    tracker = tracker_with((200, 0.0, ()), (300, 10.0, ()))
    assert tracker.addressee(key, 100, since=0.0) is None
    # Only lines since the span count: 300 spoke to 100 before it.
    tracker = tracker_with((300, 0.0, (100,)), (200, 50.0, ()))
    assert tracker.addressee(key, 100, since=30.0) == 200
    assert tracker.addressee((1, 11), 100, since=0.0) is None  # another channel: nobody
