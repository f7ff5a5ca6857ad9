-- Reason: year-long /stats queries read a daily roll-up of reply delays and covering indexes (reach pairs, channel members, member totals) instead of the rows.

-- Responsiveness reads activity_daily_replies (below), no longer the messages themselves.
DROP INDEX activity_messages_awaiting;

-- Reach walks each (target, source) pair in order, so distinct sources need no temporary sort.
CREATE INDEX activity_daily_reach_pairs ON activity_daily_reach
    (guild_id, target_id, source_id, day, replies, reactions);

-- Active members per channel walk each (channel, member) in order.
CREATE INDEX activity_daily_member_channel_members ON activity_daily_member_channel
    (guild_id, channel_id, user_id, day);

-- Most active members sum blocks and messages per member in index order (same leading columns as before).
CREATE INDEX activity_daily_member_user_totals ON activity_daily_member
    (guild_id, user_id, day, blocks, messages);
DROP INDEX activity_daily_member_user;

-- Responsiveness per day: questions and newcomers' messages by (answered, seconds to first reply),
-- kept by triggers so every write path (batch, reply, edit, delete, erase) stays counted.
CREATE TABLE activity_daily_replies (
    guild_id    INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    is_question INTEGER NOT NULL,
    is_newcomer INTEGER NOT NULL,
    answered    INTEGER NOT NULL,           -- first_reply_at is set
    delay       INTEGER NOT NULL,           -- first_reply_at - created_at (0 when unanswered)
    messages    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, is_question, is_newcomer, answered, delay)
) WITHOUT ROWID;

INSERT INTO activity_daily_replies (guild_id, day, is_question, is_newcomer, answered, delay, messages)
SELECT guild_id, created_at / 86400, is_question, is_newcomer, first_reply_at IS NOT NULL,
       COALESCE(first_reply_at - created_at, 0), COUNT(*)
FROM activity_messages WHERE is_question = 1 OR is_newcomer = 1
GROUP BY 1, 2, 3, 4, 5, 6;

CREATE TRIGGER activity_daily_replies_insert AFTER INSERT ON activity_messages
WHEN NEW.is_question = 1 OR NEW.is_newcomer = 1
BEGIN
    INSERT INTO activity_daily_replies (guild_id, day, is_question, is_newcomer, answered, delay, messages)
    VALUES (NEW.guild_id, NEW.created_at / 86400, NEW.is_question, NEW.is_newcomer,
            NEW.first_reply_at IS NOT NULL, COALESCE(NEW.first_reply_at - NEW.created_at, 0), 1)
    ON CONFLICT DO UPDATE SET messages = messages + 1;
END;

CREATE TRIGGER activity_daily_replies_delete AFTER DELETE ON activity_messages
WHEN OLD.is_question = 1 OR OLD.is_newcomer = 1
BEGIN
    UPDATE activity_daily_replies SET messages = messages - 1
    WHERE guild_id = OLD.guild_id AND day = OLD.created_at / 86400 AND is_question = OLD.is_question
      AND is_newcomer = OLD.is_newcomer AND answered = (OLD.first_reply_at IS NOT NULL)
      AND delay = COALESCE(OLD.first_reply_at - OLD.created_at, 0);
    DELETE FROM activity_daily_replies WHERE guild_id = OLD.guild_id AND day = OLD.created_at / 86400
      AND messages <= 0;
END;

CREATE TRIGGER activity_daily_replies_update
AFTER UPDATE OF created_at, is_question, is_newcomer, first_reply_at ON activity_messages
WHEN (OLD.is_question = 1 OR OLD.is_newcomer = 1 OR NEW.is_question = 1 OR NEW.is_newcomer = 1)
 AND (OLD.created_at IS NOT NEW.created_at OR OLD.is_question IS NOT NEW.is_question
      OR OLD.is_newcomer IS NOT NEW.is_newcomer OR OLD.first_reply_at IS NOT NEW.first_reply_at)
BEGIN
    UPDATE activity_daily_replies SET messages = messages - 1
    WHERE (OLD.is_question = 1 OR OLD.is_newcomer = 1)
      AND guild_id = OLD.guild_id AND day = OLD.created_at / 86400 AND is_question = OLD.is_question
      AND is_newcomer = OLD.is_newcomer AND answered = (OLD.first_reply_at IS NOT NULL)
      AND delay = COALESCE(OLD.first_reply_at - OLD.created_at, 0);
    INSERT INTO activity_daily_replies (guild_id, day, is_question, is_newcomer, answered, delay, messages)
    SELECT NEW.guild_id, NEW.created_at / 86400, NEW.is_question, NEW.is_newcomer,
           NEW.first_reply_at IS NOT NULL, COALESCE(NEW.first_reply_at - NEW.created_at, 0), 1
    WHERE NEW.is_question = 1 OR NEW.is_newcomer = 1
    ON CONFLICT DO UPDATE SET messages = messages + 1;
    DELETE FROM activity_daily_replies WHERE guild_id = OLD.guild_id AND day = OLD.created_at / 86400
      AND messages <= 0;
END;
