"""The pure core: database, migrations, scheduler, settings, catalogs, clock, errors, privacy; no Discord."""
