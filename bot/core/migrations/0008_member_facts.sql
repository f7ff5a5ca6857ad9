-- Reason: one owner per member fact: `members` keeps the first join, first message and first reply received (bot/core/members.py); onboarding_members keeps only onboarding's own steps, and both funnels read members.

ALTER TABLE members ADD COLUMN first_joined_at INTEGER;  -- the first join Hearth saw: the funnel's anchor
ALTER TABLE members ADD COLUMN first_reply_at INTEGER;   -- first reply or mention by another member

-- Members onboarding saw join that the activity side has no row for.
INSERT OR IGNORE INTO members (guild_id, user_id, joined_at)
SELECT guild_id, user_id, joined_at FROM onboarding_members WHERE tracked = 1;

-- The first join: the earliest of every join recorded anywhere.
UPDATE members SET first_joined_at = (
    SELECT MIN(e.at) FROM member_events e
    WHERE e.guild_id = members.guild_id AND e.user_id = members.user_id AND e.kind = 'join'
);
UPDATE members SET first_joined_at = joined_at
WHERE joined_at IS NOT NULL AND (first_joined_at IS NULL OR joined_at < first_joined_at);
UPDATE members AS m SET first_joined_at = o.joined_at
FROM onboarding_members o
WHERE o.guild_id = m.guild_id AND o.user_id = m.user_id AND o.tracked = 1
  AND (m.first_joined_at IS NULL OR o.joined_at < m.first_joined_at);

-- The first message: the earliest either side saw.
UPDATE members AS m SET first_message_at = MIN(COALESCE(m.first_message_at, o.first_message_at), o.first_message_at)
FROM onboarding_members o
WHERE o.guild_id = m.guild_id AND o.user_id = m.user_id AND o.first_message_at IS NOT NULL;

-- The first reply, from the stored reply links. Onboarding's own first_reply_at is not carried over:
-- it also counted any later message in the same channel, and which rule answered each row is unknown.
UPDATE members AS m SET first_reply_at = r.t
FROM (
    SELECT a.guild_id AS g, a.reply_to_author_id AS u, MIN(a.created_at) AS t
    FROM activity_messages a JOIN members mm ON mm.guild_id = a.guild_id AND mm.user_id = a.reply_to_author_id
    WHERE a.reply_to_author_id IS NOT NULL AND a.author_id != a.reply_to_author_id
      AND mm.first_message_at IS NOT NULL
      AND a.created_at >= mm.first_message_at AND a.created_at < mm.first_message_at + 14 * 86400
    GROUP BY 1, 2
) AS r
WHERE m.guild_id = r.g AND m.user_id = r.u AND m.is_bot = 0;

CREATE INDEX members_first_joined ON members (guild_id, first_joined_at);

-- Onboarding no longer keeps its own copy of these facts (week 2 is read from the activity roll-up).
DROP INDEX onboarding_members_waiting;
ALTER TABLE onboarding_members DROP COLUMN first_message_at;
ALTER TABLE onboarding_members DROP COLUMN first_reply_at;
ALTER TABLE onboarding_members DROP COLUMN week2_active_at;
