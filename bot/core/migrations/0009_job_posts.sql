-- Reason: scheduled posts are at-least-once: a job remembers what it already posted, so a retry or a restart never posts it twice, and counts its own errors apart from transient failures.

-- One row per message a job has posted (a job may post in more than one place: a DM, then a channel).
CREATE TABLE scheduled_job_posts (
    job_id     INTEGER NOT NULL REFERENCES scheduled_jobs(id) ON DELETE CASCADE,
    slot       TEXT    NOT NULL,
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    posted_at  INTEGER NOT NULL,
    PRIMARY KEY (job_id, slot)
);

-- Failures that are not transient (a bug, a refused request): a job gives up after a few of these,
-- while a Discord outage (5xx, timeouts) is waited out for about a day.
ALTER TABLE scheduled_jobs ADD COLUMN errors INTEGER NOT NULL DEFAULT 0;
