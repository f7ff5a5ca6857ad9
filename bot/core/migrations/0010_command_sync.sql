-- Reason: remember what slash commands were last published, so run publishes them only when they change

-- Process-wide, not server-owned: one row per application and scope ('global' or 'guild:<id>').
CREATE TABLE published_commands (
    application_id INTEGER NOT NULL,
    scope TEXT NOT NULL,
    digest TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    PRIMARY KEY (application_id, scope)
);
