"""The Discord glue every cog stands on: the Bot subclass, the one error path, checks, validators, the translator."""
