-- Reason: year-long reach read ~460 k daily (member, member) rows to count distinct people; it now reads a weekly roll-up per member and each pair's last active day.

-- Why not a monthly roll-up of distinct pairs: most pairs are active on one or two days a year, so a
-- month of pairs is nearly as many rows as a month of daily rows. What is cheap is this: over a span
-- that ends on the latest day stored, a member's reach is the number of pairs whose *last* active day
-- falls in the span. So each pair keeps its last day (and last day with a reply, with a reaction), and
-- a weekly roll-up counts pairs by the week of that last day. A span then reads its whole weeks from the
-- roll-up and its first, partial week from the daily rows (see MetricsService.contributors).
-- Triggers on activity_daily_reach keep both up to date on every write path (batch writes, reactions,
-- message deletes, pruning, erasure), so no writer has to know about them.

-- Each (target, source) pair that has daily rows: the last day it has a row, a reply, a reaction (NULL: none).
CREATE TABLE activity_reach_pairs (
    guild_id          INTEGER NOT NULL,
    target_id         INTEGER NOT NULL,
    source_id         INTEGER NOT NULL,
    last_day          INTEGER NOT NULL,
    last_reply_day    INTEGER,
    last_reaction_day INTEGER,
    PRIMARY KEY (guild_id, target_id, source_id)
) WITHOUT ROWID;

-- Per target and week, week = (day + 3) / 7 (Monday-based, as in bot.activity.metrics.week_of):
-- replies and reactions received on the days of that week, and how many pairs have their last day
-- (pairs), last reply day (repliers) and last reaction day (reactors) in that week.
-- A row whose counts are all zero is deleted, so no row is left about an erased member.
CREATE TABLE activity_weekly_reach (
    guild_id  INTEGER NOT NULL,
    week      INTEGER NOT NULL,
    target_id INTEGER NOT NULL,
    replies   INTEGER NOT NULL DEFAULT 0,
    reactions INTEGER NOT NULL DEFAULT 0,
    pairs     INTEGER NOT NULL DEFAULT 0,
    repliers  INTEGER NOT NULL DEFAULT 0,
    reactors  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, week, target_id)
) WITHOUT ROWID;

INSERT INTO activity_reach_pairs (guild_id, target_id, source_id, last_day, last_reply_day, last_reaction_day)
SELECT guild_id, target_id, source_id, MAX(day),
       MAX(CASE WHEN replies > 0 THEN day END), MAX(CASE WHEN reactions > 0 THEN day END)
FROM activity_daily_reach GROUP BY guild_id, target_id, source_id;

INSERT INTO activity_weekly_reach (guild_id, week, target_id, replies, reactions, pairs, repliers, reactors)
SELECT guild_id, week, target_id, SUM(replies), SUM(reactions), SUM(pairs), SUM(repliers), SUM(reactors)
FROM (
    SELECT guild_id, (day + 3) / 7 AS week, target_id, replies, reactions, 0 AS pairs, 0 AS repliers, 0 AS reactors
    FROM activity_daily_reach
    UNION ALL
    SELECT guild_id, (last_day + 3) / 7, target_id, 0, 0, 1, 0, 0 FROM activity_reach_pairs
    UNION ALL
    SELECT guild_id, (last_reply_day + 3) / 7, target_id, 0, 0, 0, 1, 0 FROM activity_reach_pairs
    WHERE last_reply_day IS NOT NULL
    UNION ALL
    SELECT guild_id, (last_reaction_day + 3) / 7, target_id, 0, 0, 0, 0, 1 FROM activity_reach_pairs
    WHERE last_reaction_day IS NOT NULL
)
GROUP BY guild_id, week, target_id
HAVING SUM(replies) != 0 OR SUM(reactions) != 0 OR SUM(pairs) != 0 OR SUM(repliers) != 0 OR SUM(reactors) != 0;

-- Writers only ever change a daily row's counts; a moved row would need both roll-ups moved too.
CREATE TRIGGER activity_daily_reach_keys BEFORE UPDATE OF guild_id, day, target_id, source_id
ON activity_daily_reach
WHEN OLD.guild_id IS NOT NEW.guild_id OR OLD.day IS NOT NEW.day
  OR OLD.target_id IS NOT NEW.target_id OR OLD.source_id IS NOT NEW.source_id
BEGIN
    SELECT RAISE(ABORT, 'activity_daily_reach rows are keyed for good: delete and insert instead');
END;

-- A new daily row: its counts go to its week; its pair is created or gets a later last day.
CREATE TRIGGER activity_daily_reach_insert AFTER INSERT ON activity_daily_reach
BEGIN
    INSERT INTO activity_weekly_reach (guild_id, week, target_id, replies, reactions)
    SELECT NEW.guild_id, (NEW.day + 3) / 7, NEW.target_id, NEW.replies, NEW.reactions
    WHERE NEW.replies != 0 OR NEW.reactions != 0
    ON CONFLICT DO UPDATE SET replies = replies + excluded.replies, reactions = reactions + excluded.reactions;
    INSERT INTO activity_reach_pairs (guild_id, target_id, source_id, last_day, last_reply_day, last_reaction_day)
    VALUES (NEW.guild_id, NEW.target_id, NEW.source_id, NEW.day,
            CASE WHEN NEW.replies > 0 THEN NEW.day END, CASE WHEN NEW.reactions > 0 THEN NEW.day END)
    ON CONFLICT DO UPDATE SET
        last_day = MAX(last_day, excluded.last_day),
        last_reply_day = CASE WHEN last_reply_day >= excluded.last_reply_day THEN last_reply_day
                              ELSE IFNULL(excluded.last_reply_day, last_reply_day) END,
        last_reaction_day = CASE WHEN last_reaction_day >= excluded.last_reaction_day THEN last_reaction_day
                                 ELSE IFNULL(excluded.last_reaction_day, last_reaction_day) END;
END;

-- Changed counts (the batch's upsert, a reaction added or taken back): the week follows; the pair's last
-- reply or reaction day is looked up again only when the row starts or stops having replies or reactions.
CREATE TRIGGER activity_daily_reach_update AFTER UPDATE OF replies, reactions ON activity_daily_reach
WHEN OLD.replies IS NOT NEW.replies OR OLD.reactions IS NOT NEW.reactions
BEGIN
    INSERT INTO activity_weekly_reach (guild_id, week, target_id, replies, reactions)
    VALUES (NEW.guild_id, (NEW.day + 3) / 7, NEW.target_id, NEW.replies - OLD.replies, NEW.reactions - OLD.reactions)
    ON CONFLICT DO UPDATE SET replies = replies + excluded.replies, reactions = reactions + excluded.reactions;
    DELETE FROM activity_weekly_reach
    WHERE (NEW.replies < OLD.replies OR NEW.reactions < OLD.reactions)
      AND guild_id = NEW.guild_id AND week = (NEW.day + 3) / 7 AND target_id = NEW.target_id
      AND replies = 0 AND reactions = 0 AND pairs = 0 AND repliers = 0 AND reactors = 0;
    UPDATE activity_reach_pairs SET
        last_reply_day = (SELECT MAX(d.day) FROM activity_daily_reach d WHERE d.guild_id = NEW.guild_id
                          AND d.target_id = NEW.target_id AND d.source_id = NEW.source_id AND d.replies > 0),
        last_reaction_day = (SELECT MAX(d.day) FROM activity_daily_reach d WHERE d.guild_id = NEW.guild_id
                             AND d.target_id = NEW.target_id AND d.source_id = NEW.source_id AND d.reactions > 0)
    WHERE ((OLD.replies > 0) != (NEW.replies > 0) OR (OLD.reactions > 0) != (NEW.reactions > 0))
      AND guild_id = NEW.guild_id AND target_id = NEW.target_id AND source_id = NEW.source_id;
END;

-- A deleted daily row (pruned, message deleted, member erased): its counts leave its week; its pair goes
-- when it has no rows left, or has its last days looked up again when this row was one of them.
CREATE TRIGGER activity_daily_reach_delete AFTER DELETE ON activity_daily_reach
BEGIN
    INSERT INTO activity_weekly_reach (guild_id, week, target_id, replies, reactions)
    SELECT OLD.guild_id, (OLD.day + 3) / 7, OLD.target_id, -OLD.replies, -OLD.reactions
    WHERE OLD.replies != 0 OR OLD.reactions != 0
    ON CONFLICT DO UPDATE SET replies = replies + excluded.replies, reactions = reactions + excluded.reactions;
    DELETE FROM activity_weekly_reach
    WHERE guild_id = OLD.guild_id AND week = (OLD.day + 3) / 7 AND target_id = OLD.target_id
      AND replies = 0 AND reactions = 0 AND pairs = 0 AND repliers = 0 AND reactors = 0;
    DELETE FROM activity_reach_pairs
    WHERE guild_id = OLD.guild_id AND target_id = OLD.target_id AND source_id = OLD.source_id
      AND NOT EXISTS (SELECT 1 FROM activity_daily_reach d WHERE d.guild_id = OLD.guild_id
                      AND d.target_id = OLD.target_id AND d.source_id = OLD.source_id);
    UPDATE activity_reach_pairs SET
        last_day = (SELECT MAX(d.day) FROM activity_daily_reach d WHERE d.guild_id = OLD.guild_id
                    AND d.target_id = OLD.target_id AND d.source_id = OLD.source_id),
        last_reply_day = (SELECT MAX(d.day) FROM activity_daily_reach d WHERE d.guild_id = OLD.guild_id
                          AND d.target_id = OLD.target_id AND d.source_id = OLD.source_id AND d.replies > 0),
        last_reaction_day = (SELECT MAX(d.day) FROM activity_daily_reach d WHERE d.guild_id = OLD.guild_id
                             AND d.target_id = OLD.target_id AND d.source_id = OLD.source_id AND d.reactions > 0)
    WHERE guild_id = OLD.guild_id AND target_id = OLD.target_id AND source_id = OLD.source_id
      AND OLD.day IN (last_day, last_reply_day, last_reaction_day);
END;

-- A pair's last days are counted in the weeks they fall in.
CREATE TRIGGER activity_reach_pairs_insert AFTER INSERT ON activity_reach_pairs
BEGIN
    INSERT INTO activity_weekly_reach (guild_id, week, target_id, pairs, repliers, reactors)
    VALUES (NEW.guild_id, (NEW.last_day + 3) / 7, NEW.target_id, 1,
            (NEW.last_reply_day + 3) / 7 IS (NEW.last_day + 3) / 7,
            (NEW.last_reaction_day + 3) / 7 IS (NEW.last_day + 3) / 7)
    ON CONFLICT DO UPDATE SET pairs = pairs + 1, repliers = repliers + excluded.repliers,
                              reactors = reactors + excluded.reactors;
    INSERT INTO activity_weekly_reach (guild_id, week, target_id, repliers)
    SELECT NEW.guild_id, (NEW.last_reply_day + 3) / 7, NEW.target_id, 1
    WHERE (NEW.last_reply_day + 3) / 7 != (NEW.last_day + 3) / 7
    ON CONFLICT DO UPDATE SET repliers = repliers + 1;
    INSERT INTO activity_weekly_reach (guild_id, week, target_id, reactors)
    SELECT NEW.guild_id, (NEW.last_reaction_day + 3) / 7, NEW.target_id, 1
    WHERE (NEW.last_reaction_day + 3) / 7 != (NEW.last_day + 3) / 7
    ON CONFLICT DO UPDATE SET reactors = reactors + 1;
END;

CREATE TRIGGER activity_reach_pairs_delete AFTER DELETE ON activity_reach_pairs
BEGIN
    UPDATE activity_weekly_reach SET pairs = pairs - 1
    WHERE guild_id = OLD.guild_id AND week = (OLD.last_day + 3) / 7 AND target_id = OLD.target_id;
    UPDATE activity_weekly_reach SET repliers = repliers - 1
    WHERE guild_id = OLD.guild_id AND week = (OLD.last_reply_day + 3) / 7 AND target_id = OLD.target_id;
    UPDATE activity_weekly_reach SET reactors = reactors - 1
    WHERE guild_id = OLD.guild_id AND week = (OLD.last_reaction_day + 3) / 7 AND target_id = OLD.target_id;
    DELETE FROM activity_weekly_reach
    WHERE guild_id = OLD.guild_id AND target_id = OLD.target_id
      AND week IN ((OLD.last_day + 3) / 7, (OLD.last_reply_day + 3) / 7, (OLD.last_reaction_day + 3) / 7)
      AND replies = 0 AND reactions = 0 AND pairs = 0 AND repliers = 0 AND reactors = 0;
END;

-- A later (or, after a delete, earlier) last day moves the pair's count to another week only when the
-- week changes, which most new days of an existing pair do not.
CREATE TRIGGER activity_reach_pairs_last_day AFTER UPDATE OF last_day ON activity_reach_pairs
WHEN (OLD.last_day + 3) / 7 != (NEW.last_day + 3) / 7
BEGIN
    UPDATE activity_weekly_reach SET pairs = pairs - 1
    WHERE guild_id = OLD.guild_id AND week = (OLD.last_day + 3) / 7 AND target_id = OLD.target_id;
    INSERT INTO activity_weekly_reach (guild_id, week, target_id, pairs)
    VALUES (NEW.guild_id, (NEW.last_day + 3) / 7, NEW.target_id, 1)
    ON CONFLICT DO UPDATE SET pairs = pairs + 1;
    DELETE FROM activity_weekly_reach
    WHERE guild_id = OLD.guild_id AND week = (OLD.last_day + 3) / 7 AND target_id = OLD.target_id
      AND replies = 0 AND reactions = 0 AND pairs = 0 AND repliers = 0 AND reactors = 0;
END;

CREATE TRIGGER activity_reach_pairs_last_reply AFTER UPDATE OF last_reply_day ON activity_reach_pairs
WHEN (OLD.last_reply_day + 3) / 7 IS NOT (NEW.last_reply_day + 3) / 7
BEGIN
    UPDATE activity_weekly_reach SET repliers = repliers - 1
    WHERE guild_id = OLD.guild_id AND week = (OLD.last_reply_day + 3) / 7 AND target_id = OLD.target_id;
    INSERT INTO activity_weekly_reach (guild_id, week, target_id, repliers)
    SELECT NEW.guild_id, (NEW.last_reply_day + 3) / 7, NEW.target_id, 1
    WHERE NEW.last_reply_day IS NOT NULL
    ON CONFLICT DO UPDATE SET repliers = repliers + 1;
    DELETE FROM activity_weekly_reach
    WHERE guild_id = OLD.guild_id AND week = (OLD.last_reply_day + 3) / 7 AND target_id = OLD.target_id
      AND replies = 0 AND reactions = 0 AND pairs = 0 AND repliers = 0 AND reactors = 0;
END;

CREATE TRIGGER activity_reach_pairs_last_reaction AFTER UPDATE OF last_reaction_day ON activity_reach_pairs
WHEN (OLD.last_reaction_day + 3) / 7 IS NOT (NEW.last_reaction_day + 3) / 7
BEGIN
    UPDATE activity_weekly_reach SET reactors = reactors - 1
    WHERE guild_id = OLD.guild_id AND week = (OLD.last_reaction_day + 3) / 7 AND target_id = OLD.target_id;
    INSERT INTO activity_weekly_reach (guild_id, week, target_id, reactors)
    SELECT NEW.guild_id, (NEW.last_reaction_day + 3) / 7, NEW.target_id, 1
    WHERE NEW.last_reaction_day IS NOT NULL
    ON CONFLICT DO UPDATE SET reactors = reactors + 1;
    DELETE FROM activity_weekly_reach
    WHERE guild_id = OLD.guild_id AND week = (OLD.last_reaction_day + 3) / 7 AND target_id = OLD.target_id
      AND replies = 0 AND reactions = 0 AND pairs = 0 AND repliers = 0 AND reactors = 0;
END;
