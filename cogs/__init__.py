"""Thin Discord adapters, one per feature; modules starting with `_` are shared helpers, not cogs."""
