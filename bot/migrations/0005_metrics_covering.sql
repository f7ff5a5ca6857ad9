-- Reason: year-long /stats queries read covering indexes (reply delays, reach pairs, channel members) instead of the rows.

-- Responsiveness counts delays by (question, newcomer) straight from the index, never the message rows.
CREATE INDEX activity_messages_awaiting_delay ON activity_messages
    (guild_id, created_at, is_question, is_newcomer, first_reply_at)
    WHERE is_question = 1 OR is_newcomer = 1;
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
