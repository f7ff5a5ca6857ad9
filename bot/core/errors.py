"""The UserError family: failures whose message is safe to show, as a catalog key and its values.

Domain code raises these; the one tree error handler (`bot.interactions.on_tree_error`) turns them
into an ephemeral reply in the reader's language.
"""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """A failure caused by the user's input or the server's setup; `key` names its message."""

    key = "errors.generic"

    def __init__(self, key: str | None = None, **params: Any) -> None:
        self.key = key or type(self).key
        self.params = params
        super().__init__(self.key)


class InvalidValue(UserError):
    """A value given to a command or setting is not acceptable."""

    key = "errors.invalid_value"


class NotFound(UserError):
    """The thing asked for does not exist (in this server)."""

    key = "errors.not_found"
