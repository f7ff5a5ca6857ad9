"""Member facts and the one newcomer funnel definition, read by /stats, /onboarding stats and the digest.

Each member fact has one owning table, `members` (written by the activity pipeline, see
`bot.activity.rollups`):

- `first_joined_at`: the member's first join in the server that Hearth saw. **The anchor.** A member
  who leaves and comes back keeps their first join (`joined_at` is the latest join, for "still here").
- `first_message_at`: their first message. A member whose first message is older than their first
  join was here before Hearth saw them join: they are not a newcomer and the funnel leaves them out.
- `first_reply_at`: when they first "got a reply" (`answered_by` below).

"Got a reply": another member (never a bot, never themselves) replied to one of their messages or
mentioned them, within `REPLY_WINDOW` of their first message. Why this rule and not "someone else
spoke next in the same channel" (what onboarding used to count): on the #ubuntu IRC logs with human
reply annotations, the next other speaker answers the previous author 6 % of the time, and 5 of 146
newcomers' first messages (benchmarks/answer_rule_eval.py), so that rule mostly counts people talking
to someone else; a reply or a mention is what Discord itself records as addressed to someone (the
IRC logs' reply links go through the pipeline in tests/activity/test_irc_logs.py). Bots never count:
their messages are not recorded.

Activation ("back in week 2"): active on a day 7 to 13 days after the first join, judged once that
week is over (`eligible_week2`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.db import Database

DAY = 86_400
# How long after their first message a newcomer's reply still counts (the activity "newcomer" window).
REPLY_WINDOW_DAYS = 14
REPLY_WINDOW = REPLY_WINDOW_DAYS * DAY
WEEK_TWO_DAYS = (7, 13)  # days after the first join's day that make "week 2"


def answered_by(author_id: int, reply_to_author_id: int | None, mention_ids: Iterable[int]) -> set[int]:
    """Return the members a message answers: the author it replies to and those it mentions, never its author.

    The caller passes members' messages only (bots' messages are never recorded), so a bot's reply
    answers nobody.
    """
    targets = set(mention_ids)
    if reply_to_author_id is not None:
        targets.add(reply_to_author_id)
    targets.discard(author_id)
    return targets


@dataclass(frozen=True)
class Newcomer:
    """One member whose first join falls in the period, and how far they got (unix seconds)."""

    user_id: int
    first_joined_at: int
    first_message_at: int | None
    first_reply_at: int | None
    returned_week2: bool

    def week2_over(self, today: int) -> bool:
        """Tell whether their week 2 is over on UTC day `today` (activation can be judged)."""
        return self.first_joined_at // DAY + WEEK_TWO_DAYS[1] < today


@dataclass(frozen=True)
class FunnelCounts:
    """The funnel's steps over a set of newcomers."""

    joined: int
    spoke: int
    got_reply: int
    eligible_week2: int
    returned_week2: int
    reply_delays: tuple[int, ...]  # first reply minus first message, seconds, for the median


async def newcomers(db: Database, guild_id: int, since: int, until: int) -> list[Newcomer]:
    """Return the members whose first join is in [since, until), bots and earlier members left out."""
    rows = await db.fetchall(
        "SELECT m.user_id, m.first_joined_at, m.first_message_at, m.first_reply_at,"
        " EXISTS (SELECT 1 FROM activity_daily_member d WHERE d.guild_id = m.guild_id AND d.user_id = m.user_id"
        "   AND d.day BETWEEN m.first_joined_at / ? + ? AND m.first_joined_at / ? + ?) AS returned"
        " FROM members m WHERE m.guild_id = ? AND m.is_bot = 0"
        " AND m.first_joined_at >= ? AND m.first_joined_at < ?"
        " AND (m.first_message_at IS NULL OR m.first_message_at >= m.first_joined_at)"
        " ORDER BY m.first_joined_at, m.user_id",
        (DAY, WEEK_TWO_DAYS[0], DAY, WEEK_TWO_DAYS[1], guild_id, since, until),
    )
    return [
        Newcomer(
            row["user_id"],
            row["first_joined_at"],
            row["first_message_at"],
            row["first_reply_at"],
            bool(row["returned"]),
        )
        for row in rows
    ]


def count(members: Sequence[Newcomer], today: int) -> FunnelCounts:
    """Count each step of the funnel (`today`: the current UTC day number, for week-2 eligibility)."""
    spoke = [m for m in members if m.first_message_at is not None]
    delays = tuple(
        m.first_reply_at - m.first_message_at
        for m in spoke
        if m.first_reply_at is not None and m.first_message_at is not None
    )
    eligible = [m for m in members if m.week2_over(today)]
    return FunnelCounts(
        joined=len(members),
        spoke=len(spoke),
        got_reply=len(delays),
        eligible_week2=len(eligible),
        returned_week2=sum(1 for m in eligible if m.returned_week2),
        reply_delays=delays,
    )
