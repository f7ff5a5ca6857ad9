"""Member activity: the ingestion pipeline, daily roll-ups, metrics, backfill and charts (no Discord here)."""
