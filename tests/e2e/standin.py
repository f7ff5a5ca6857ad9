"""A local Discord stand-in (REST + gateway) for end-to-end tests of a real bot process.

The stand-in speaks just enough of Discord's API v10 for discord.py 2.x: the REST
routes a bot uses day to day and the gateway lifecycle (HELLO, IDENTIFY, READY,
GUILD_CREATE, heartbeats, RESUME, INVALIDATE_SESSION). Payloads follow Discord's
documented shapes closely enough that discord.py builds real model objects from them.

Usage::

    async with DiscordStandIn(token="test-token") as discord_:
        guild = discord_.add_guild(name="Hearth test")
        channel = discord_.add_channel(guild, "general")
        alice = discord_.add_member(guild, username="alice")
        env = {**os.environ, **discord_.env, "DISCORD_TOKEN": discord_.token}
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env)
        await discord_.wait_until_identified(timeout=10)
        await discord_.message_create(channel, alice, "hello")
        reply = await discord_.wait_for_message(channel, timeout=5)

Everything the bot sends is recorded (``requests``, ``messages_in()``,
``interaction_responses``); a route the stand-in does not know answers 404 and is
kept in ``unknown_routes`` so a fixture can fail the test on it.
"""

# The brief for this helper asks for wait helpers that take a ``timeout`` argument.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import datetime
import fnmatch
import itertools
import json
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000

# Gateway opcodes.
OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

# Gateway intents.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_DIRECT_MESSAGE_REACTIONS = 1 << 13
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Permission bits.
PERM_CREATE_INSTANT_INVITE = 1 << 0
PERM_ADMINISTRATOR = 1 << 3
PERM_MANAGE_CHANNELS = 1 << 4
PERM_MANAGE_GUILD = 1 << 5
PERM_ADD_REACTIONS = 1 << 6
PERM_VIEW_CHANNEL = 1 << 10
PERM_SEND_MESSAGES = 1 << 11
PERM_MANAGE_MESSAGES = 1 << 13
PERM_EMBED_LINKS = 1 << 14
PERM_ATTACH_FILES = 1 << 15
PERM_READ_MESSAGE_HISTORY = 1 << 16
PERM_USE_EXTERNAL_EMOJIS = 1 << 18
PERM_CONNECT = 1 << 20
PERM_SPEAK = 1 << 21
PERM_CHANGE_NICKNAME = 1 << 26
PERM_MANAGE_ROLES = 1 << 28
PERM_USE_APPLICATION_COMMANDS = 1 << 31
PERM_SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 53) - 1

EVERYONE_DEFAULT_PERMISSIONS = (
    PERM_CREATE_INSTANT_INVITE
    | PERM_ADD_REACTIONS
    | PERM_VIEW_CHANNEL
    | PERM_SEND_MESSAGES
    | PERM_EMBED_LINKS
    | PERM_ATTACH_FILES
    | PERM_READ_MESSAGE_HISTORY
    | PERM_USE_EXTERNAL_EMOJIS
    | PERM_CONNECT
    | PERM_SPEAK
    | PERM_CHANGE_NICKNAME
    | PERM_USE_APPLICATION_COMMANDS
    | PERM_SEND_MESSAGES_IN_THREADS
)
BOT_DEFAULT_PERMISSIONS = (
    EVERYONE_DEFAULT_PERMISSIONS | PERM_MANAGE_ROLES | PERM_MANAGE_MESSAGES | PERM_MANAGE_CHANNELS
)

# How long Discord remembers a message nonce sent with `enforce_nonce`, and how long a held post waits.
NONCE_WINDOW_SECONDS = 300.0
POST_HOLD_LIMIT = 15.0

# Close codes after which Discord lets the client RESUME.
RESUMABLE_CLOSE_CODE = 4000

_MENTION_USER = re.compile(r"<@!?(\d+)>")
_MENTION_ROLE = re.compile(r"<@&(\d+)>")
_MENTION_CHANNEL = re.compile(r"<#(\d+)>")

Json = dict[str, Any]


def _iso(ts: float | None = None) -> str:
    """Format a unix time the way Discord does (ISO 8601 with offset)."""
    moment = datetime.datetime.fromtimestamp(time.time() if ts is None else ts, tz=datetime.UTC)
    return moment.isoformat()


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request received from the bot."""

    method: str
    path: str
    route: str | None
    json: Any
    query: Mapping[str, str]
    status: int
    authorization: str | None

    @property
    def key(self) -> str:
        """Return ``"METHOD /concrete/path"``."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class InteractionReply:
    """Something the bot sent in answer to an interaction."""

    interaction_id: int
    token: str
    kind: str  # "callback", "followup", "edit", "delete"
    type: int | None  # interaction callback type, for kind == "callback"
    body: Any
    message_id: int | None


@dataclass(frozen=True)
class SentInteraction:
    """An interaction dispatched to the bot."""

    id: int
    token: str
    payload: Json


@dataclass
class _Fault:
    pattern: str
    status: int
    retry_after: float
    remaining: int
    is_global: bool
    body: Any


@dataclass
class PostHold:
    """A bot post the stand-in keeps unanswered until released, so a test can kill the bot meanwhile."""

    channel_id: int
    after_storing: bool
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    status: int | None = None  # answer this error once released, instead of the message


@dataclass
class _Guild:
    id: int
    name: str
    owner_id: int
    locale: str
    roles: dict[int, Json] = field(default_factory=dict)
    channels: dict[int, Json] = field(default_factory=dict)
    members: dict[int, Json] = field(default_factory=dict)
    joined_at: str = field(default_factory=_iso)


@dataclass
class _Interaction:
    id: int
    token: str
    type: int
    channel_id: int
    guild_id: int | None
    user_id: int
    created: float
    message_id: int | None = None  # the message a component was attached to
    acknowledged: bool = False
    callback_type: int | None = None
    original_id: int | None = None


@dataclass
class _Connection:
    ws: web.WebSocketResponse
    query: Mapping[str, str]
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session: _Session | None = None
    heartbeats: int = 0
    transport: asyncio.BaseTransport | None = None


@dataclass
class _Session:
    id: str
    intents: int
    token: str
    seq: int = 0
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=50_000))
    conn: _Connection | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class _HTTPError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message}


def _json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # discord.py parses JSON only when the content type is exactly "application/json",
    # so the charset suffix aiohttp's json_response adds must be avoided.
    all_headers = {"Content-Type": "application/json", "Via": "1.1 google"}
    all_headers.update(headers or {})
    return web.Response(body=json.dumps(body).encode(), status=status, headers=all_headers)


def _no_content() -> web.Response:
    return web.Response(status=204, headers={"Via": "1.1 google"})


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Callable[..., Awaitable[web.Response]]

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", template)
    pattern = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{pattern}$")


class DiscordStandIn:
    """A fake Discord (REST under ``/api/v10`` and a gateway websocket) on 127.0.0.1."""

    def __init__(
        self,
        *,
        token: str | None = None,
        bot_id: int | None = None,
        bot_name: str = "Hearth",
        application_id: int | None = None,
        heartbeat_interval_ms: int = 41250,
        host: str = "127.0.0.1",
        port: int = 0,
        allowed_intents: int = PRIVILEGED_INTENTS,
        resume_enabled: bool = True,
        interaction_deadline: float | None = 3.0,
        echo_bot_events: bool = True,
        guild_create_delay: float = 0.0,
    ) -> None:
        self._last_id = 0
        # Real Discord sends READY with every guild "unavailable" and their GUILD_CREATEs later,
        # often seconds later for a big bot: code that runs before then finds no guild in the cache.
        self.guild_create_delay = guild_create_delay
        self.token = token
        self.host = host
        self.port = port
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.allowed_intents = allowed_intents
        self.resume_enabled = resume_enabled
        self.interaction_deadline = interaction_deadline
        self.echo_bot_events = echo_bot_events
        # Message nonces (Discord's `enforce_nonce`): a create repeated within the window returns the
        # message created the first time. Discord says "a few minutes".
        self.nonce_window = NONCE_WINDOW_SECONDS
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}  # (author, nonce) -> message, when
        self._post_holds: list[PostHold] = []

        self.bot_id = bot_id or self.snowflake()
        self.application_id = application_id or self.bot_id
        self.owner_id = self.snowflake()
        self.users: dict[int, Json] = {}
        self.bot_user = self._store_user(self.bot_id, bot_name, bot=True)
        self._store_user(self.owner_id, "owner")

        self.guilds: dict[int, _Guild] = {}
        self.dm_channels: dict[int, Json] = {}  # user id -> DM channel
        self.dms_blocked: set[int] = set()
        self.messages: dict[int, Json] = {}
        self._channel_messages: dict[int, list[int]] = {}
        self._bot_messages: dict[int, list[int]] = {}
        self.reactions: list[tuple[int, int, str, int]] = []  # channel, message, emoji, user
        self.global_commands: list[Json] = []
        self.guild_commands: dict[int, list[Json]] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}

        self.requests: list[RecordedRequest] = []
        self.unknown_routes: list[RecordedRequest] = []
        self.internal_errors: list[str] = []
        self.interaction_responses: list[InteractionReply] = []
        self.interactions: dict[int, _Interaction] = {}
        self.identifies: list[Json] = []
        self.resumes: list[Json] = []
        self.dispatched: list[tuple[str, Json]] = []
        self.gateway_queries: list[Mapping[str, str]] = []
        self.connection_count = 0
        self.heartbeat_count = 0
        self.acknowledged_seq = 0  # the highest sequence number the bot's heartbeats reported as read
        self._faults: list[_Fault] = []
        self._sessions: dict[str, _Session] = {}
        self._session: _Session | None = None
        self._connections: list[_Connection] = []
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._routes = self._build_routes()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start listening on ``host:port`` (port 0 picks a free port)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway_handler)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest_handler)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.debug("Discord stand-in listening on %s", self.api_base)

    async def stop(self) -> None:
        """Close every gateway socket and stop the server."""
        for conn in list(self._connections):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        """REST base URL, the value for ``discord.http.Route.BASE``."""
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Gateway URL, the value for ``DiscordWebSocket.DEFAULT_GATEWAY``."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def env(self) -> dict[str, str]:
        """Environment settings that point a Hearth process at this stand-in."""
        return {"HEARTH_DISCORD_API_BASE": self.api_base, "HEARTH_DISCORD_GATEWAY": self.gateway_url}

    # ------------------------------------------------------------------ ids and builders

    def snowflake(self) -> int:
        """Return a fresh, strictly increasing snowflake carrying the current time."""
        stamp = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_id = max(self._last_id + 1, stamp)
        return self._last_id

    def _store_user(
        self, user_id: int, username: str, *, bot: bool = False, global_name: str | None = None
    ) -> Json:
        user = {
            "id": str(user_id),
            "username": username,
            "discriminator": "0",
            "global_name": global_name,
            "avatar": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
        }
        self.users[user_id] = user
        return user

    def add_guild(
        self,
        name: str = "Test Guild",
        *,
        guild_id: int | None = None,
        owner_id: int | None = None,
        locale: str = "en-US",
        everyone_permissions: int = EVERYONE_DEFAULT_PERMISSIONS,
        bot_permissions: int = BOT_DEFAULT_PERMISSIONS,
        bot_role_position: int = 100,
    ) -> int:
        """Create a guild with an @everyone role and the bot as a member; return its id."""
        guild_id = guild_id or self.snowflake()
        owner_id = owner_id or self.owner_id
        guild = _Guild(id=guild_id, name=name, owner_id=owner_id, locale=locale)
        self.guilds[guild_id] = guild
        self.add_role(guild_id, "@everyone", role_id=guild_id, permissions=everyone_permissions, position=0)
        bot_role = self.add_role(
            guild_id,
            self.bot_user["username"],
            permissions=bot_permissions,
            position=bot_role_position,
            managed=True,
            tags={"bot_id": str(self.bot_id)},
        )
        if owner_id not in self.users:
            self._store_user(owner_id, f"owner{owner_id % 1000}")
        self._add_member_payload(guild, owner_id, ())
        self._add_member_payload(guild, self.bot_id, (bot_role,))
        return guild_id

    def add_role(
        self,
        guild_id: int,
        name: str,
        *,
        role_id: int | None = None,
        permissions: int = 0,
        position: int | None = None,
        managed: bool = False,
        color: int = 0,
        tags: Json | None = None,
    ) -> int:
        """Add a role to a guild; positions default to just above the existing user roles."""
        guild = self.guilds[guild_id]
        role_id = role_id or self.snowflake()
        if position is None:
            position = 1 + sum(
                1 for r in guild.roles.values() if not r["managed"] and r["id"] != str(guild_id)
            )
        role: Json = {
            "id": str(role_id),
            "name": name,
            "color": color,
            "colors": {"primary_color": color, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": position,
            "permissions": str(permissions),
            "managed": managed,
            "mentionable": False,
            "flags": 0,
        }
        if tags is not None:
            role["tags"] = tags
        guild.roles[role_id] = role
        return role_id

    def add_channel(
        self,
        guild_id: int,
        name: str,
        *,
        channel_id: int | None = None,
        type: int = 0,
        parent_id: int | None = None,
        topic: str | None = None,
        rate_limit_per_user: int = 0,
        overwrites: Sequence[Json] = (),
        bot_can_send: bool = True,
    ) -> int:
        """Add a guild channel (type 0 text by default); ``bot_can_send=False`` denies the bot Send Messages."""
        guild = self.guilds[guild_id]
        channel_id = channel_id or self.snowflake()
        channel: Json = {
            "id": str(channel_id),
            "type": type,
            "guild_id": str(guild_id),
            "name": name,
            "position": len(guild.channels),
            "parent_id": str(parent_id) if parent_id else None,
            "topic": topic,
            "nsfw": False,
            "rate_limit_per_user": rate_limit_per_user,
            "last_message_id": None,
            "permission_overwrites": [dict(o) for o in overwrites],
            "flags": 0,
        }
        if type == 2:
            channel.update(bitrate=64000, user_limit=0, rtc_region=None)
        guild.channels[channel_id] = channel
        self._channel_messages[channel_id] = []
        if not bot_can_send:
            self.set_bot_can_send(channel_id, False)
        return channel_id

    def set_bot_can_send(self, channel_id: int, allowed: bool) -> None:
        """Deny or allow the bot Send Messages in a channel through a member overwrite."""
        channel = self._channel(channel_id)
        overwrites = [o for o in channel["permission_overwrites"] if o["id"] != str(self.bot_id)]
        if not allowed:
            overwrites.append(
                {"id": str(self.bot_id), "type": 1, "allow": "0", "deny": str(PERM_SEND_MESSAGES)}
            )
        channel["permission_overwrites"] = overwrites

    def add_member(
        self,
        guild_id: int,
        user_id: int | None = None,
        *,
        username: str | None = None,
        roles: Iterable[int] = (),
        nick: str | None = None,
        bot: bool = False,
        global_name: str | None = None,
    ) -> int:
        """Add a member (creating the user when new); return the user id."""
        guild = self.guilds[guild_id]
        user_id = user_id or self.snowflake()
        if user_id not in self.users or username is not None:
            self._store_user(user_id, username or f"user{user_id % 100000}", bot=bot, global_name=global_name)
        self._add_member_payload(guild, user_id, roles, nick=nick)
        return user_id

    def _add_member_payload(
        self, guild: _Guild, user_id: int, roles: Iterable[int], *, nick: str | None = None
    ) -> Json:
        member = {
            "user": self.users[user_id],
            "nick": nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in roles],
            "joined_at": _iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        guild.members[user_id] = member
        return member

    def block_dms(self, user_id: int) -> None:
        """Make DMs to this user fail like Discord does when DMs are closed (403, code 50007)."""
        self.dms_blocked.add(user_id)

    # ------------------------------------------------------------------ state helpers

    def _channel(self, channel_id: int) -> Json:
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        for channel in self.dm_channels.values():
            if int(channel["id"]) == channel_id:
                return channel
        raise _HTTPError(404, 10003, "Unknown Channel")

    def _guild_of(self, channel_id: int) -> _Guild | None:
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild
        return None

    def _guild(self, guild_id: int) -> _Guild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise _HTTPError(404, 10004, "Unknown Guild") from None

    def _member(self, guild: _Guild, user_id: int) -> Json:
        try:
            return guild.members[user_id]
        except KeyError:
            raise _HTTPError(404, 10007, "Unknown Member") from None

    def _message(self, channel_id: int, message_id: int) -> Json:
        message = self.messages.get(message_id)
        if message is None or int(message["channel_id"]) != channel_id:
            raise _HTTPError(404, 10008, "Unknown Message")
        return message

    def permissions(self, guild_id: int, user_id: int, channel_id: int | None = None) -> int:
        """Compute a member's permissions the way Discord does (roles, then channel overwrites)."""
        guild = self.guilds[guild_id]
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members.get(user_id)
        role_ids = [int(r) for r in member["roles"]] if member else []
        perms = int(guild.roles[guild_id]["permissions"])
        for role_id in role_ids:
            if role_id in guild.roles:
                perms |= int(guild.roles[role_id]["permissions"])
        if perms & PERM_ADMINISTRATOR:
            return ALL_PERMISSIONS
        if channel_id is None or channel_id not in guild.channels:
            return perms
        overwrites = {o["id"]: o for o in guild.channels[channel_id]["permission_overwrites"]}
        everyone = overwrites.get(str(guild_id))
        if everyone:
            perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
        allow = deny = 0
        for role_id in role_ids:
            o = overwrites.get(str(role_id))
            if o and o["type"] == 0:
                allow |= int(o["allow"])
                deny |= int(o["deny"])
        perms = (perms & ~deny) | allow
        mine = overwrites.get(str(user_id))
        if mine and mine["type"] == 1:
            perms = (perms & ~int(mine["deny"])) | int(mine["allow"])
        return perms

    def _require(self, guild: _Guild | None, channel_id: int | None, needed: int) -> None:
        if guild is None:
            return
        perms = self.permissions(guild.id, self.bot_id, channel_id)
        if channel_id is not None and not perms & PERM_VIEW_CHANNEL:
            raise _HTTPError(403, 50001, "Missing Access")
        if perms & needed != needed:
            raise _HTTPError(403, 50013, "Missing Permissions")

    def _top_role_position(self, guild: _Guild, user_id: int) -> int:
        member = guild.members.get(user_id)
        if member is None:
            return 0
        return max(
            (guild.roles[int(r)]["position"] for r in member["roles"] if int(r) in guild.roles), default=0
        )

    def _member_with_permissions(self, guild: _Guild, user_id: int, channel_id: int) -> Json:
        member = dict(self._member(guild, user_id))
        member["permissions"] = str(self.permissions(guild.id, user_id, channel_id))
        return member

    def _build_message(
        self,
        channel_id: int,
        author_id: int,
        content: str,
        *,
        message_id: int | None = None,
        reply_to: int | None = None,
        embeds: Sequence[Json] = (),
        attachments: Sequence[Json] = (),
        components: Sequence[Json] = (),
        flags: int = 0,
        extra: Mapping[str, Any] | None = None,
    ) -> Json:
        guild = self._guild_of(channel_id)
        mentioned = [int(m) for m in _MENTION_USER.findall(content)]
        mentions = []
        for user_id in mentioned:
            if user_id in self.users:
                entry = dict(self.users[user_id])
                if guild and user_id in guild.members:
                    entry["member"] = {k: v for k, v in guild.members[user_id].items() if k != "user"}
                mentions.append(entry)
        message: Json = {
            "id": str(message_id or self.snowflake()),
            "type": 19 if reply_to else 0,
            "channel_id": str(channel_id),
            "author": self.users[author_id],
            "content": content,
            "timestamp": _iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": "@everyone" in content,
            "mentions": mentions,
            "mention_roles": _MENTION_ROLE.findall(content),
            "attachments": list(attachments),
            "embeds": list(embeds),
            "components": list(components),
            "pinned": False,
            "flags": flags,
        }
        if reply_to:
            referenced = self.messages.get(reply_to)
            message["message_reference"] = {
                "type": 0,
                "message_id": str(reply_to),
                "channel_id": str(channel_id),
                "guild_id": str(guild.id) if guild else None,
                "fail_if_not_exists": False,
            }
            message["referenced_message"] = referenced
        if extra:
            message.update(extra)
        return message

    def _store_message(self, message: Json, *, by_bot: bool) -> None:
        message_id = int(message["id"])
        channel_id = int(message["channel_id"])
        self.messages[message_id] = message
        self._channel_messages.setdefault(channel_id, []).append(message_id)
        if by_bot:
            self._bot_messages.setdefault(channel_id, []).append(message_id)
        with contextlib.suppress(_HTTPError):
            self._channel(channel_id)["last_message_id"] = str(message_id)
        self._notify()

    def _gateway_message(self, message: Json) -> Json:
        """Add the gateway-only fields (guild_id, partial member) to a message payload."""
        data = dict(message)
        guild = self._guild_of(int(message["channel_id"]))
        if guild is not None:
            data["guild_id"] = str(guild.id)
            author_id = int(message["author"]["id"])
            if author_id in guild.members:
                data["member"] = {k: v for k, v in guild.members[author_id].items() if k != "user"}
        return data

    # ------------------------------------------------------------------ accessors and waiting

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def messages_in(self, channel_id: int) -> list[Json]:
        """Return the messages the bot posted in a channel, oldest first (edits applied, deletions kept out)."""
        return [self.messages[i] for i in self._bot_messages.get(channel_id, []) if i in self.messages]

    def dms_to(self, user_id: int) -> list[Json]:
        """Return the messages the bot sent to a user in DMs."""
        channel = self.dm_channels.get(user_id)
        return [] if channel is None else self.messages_in(int(channel["id"]))

    def responses_to(self, interaction_id: int) -> list[InteractionReply]:
        """Return everything the bot sent for one interaction."""
        return [r for r in self.interaction_responses if r.interaction_id == interaction_id]

    def requests_matching(self, pattern: str) -> list[RecordedRequest]:
        """Return recorded requests whose route template or ``METHOD /path`` matches ``pattern``."""
        return [r for r in self.requests if _matches(pattern, r.method, r.path, r.route)]

    @property
    def connected(self) -> bool:
        """Whether a bot session currently has a live socket."""
        return self._session is not None and self._session.conn is not None

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every change) and return its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                recent = [r.key for r in self.requests[-5:]]
                raise TimeoutError(f"condition not met within {timeout}s; last requests: {recent}")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                # Wake up regularly too: some predicates depend on state outside the stand-in.
                await asyncio.wait_for(changed.wait(), min(remaining, 0.05))

    async def wait_for_message(
        self,
        channel_id: int,
        predicate: Callable[[Json], bool] | None = None,
        *,
        timeout: float = 5.0,
        after: int = 0,
    ) -> Json:
        """Wait for the bot to post a message in a channel (the ``after``-th onwards) and return it."""

        def found() -> Json | None:
            for message in self.messages_in(channel_id)[after:]:
                if predicate is None or predicate(message):
                    return message
            return None

        return await self.wait_for(found, timeout)

    async def wait_for_request(
        self, pattern: str, *, timeout: float = 5.0, count: int = 1
    ) -> RecordedRequest:
        """Wait until ``count`` requests match ``pattern``; return the last of them."""
        await self.wait_for(lambda: len(self.requests_matching(pattern)) >= count, timeout)
        return self.requests_matching(pattern)[count - 1]

    async def wait_for_response(
        self, interaction_id: int, *, timeout: float = 5.0, count: int = 1
    ) -> InteractionReply:
        """Wait for the ``count``-th reply to an interaction and return it."""
        await self.wait_for(lambda: len(self.responses_to(interaction_id)) >= count, timeout)
        return self.responses_to(interaction_id)[count - 1]

    async def wait_until_identified(self, *, timeout: float = 10.0, count: int = 1) -> Json:
        """Wait for the ``count``-th IDENTIFY and for its session to be live; return the IDENTIFY payload."""
        await self.wait_for(lambda: len(self.identifies) >= count and self.connected, timeout)
        return self.identifies[count - 1]

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        route_pattern: str,
        status: int = 429,
        *,
        retry_after: float = 0.2,
        times: int = 1,
        is_global: bool = False,
        body: Any = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` instead of handling them.

        ``route_pattern`` is a route template key (``"POST /channels/{channel_id}/messages"``)
        or a glob over ``"METHOD /path"`` (``"POST /channels/*/messages"``); the method may be
        left out. A 429 carries Discord's body (``retry_after``, ``global``) and a ``Via``
        header, without which discord.py treats it as a Cloudflare ban.
        """
        self._faults.append(_Fault(route_pattern, status, retry_after, times, is_global, body))

    def _take_fault(self, method: str, path: str, route: str | None) -> _Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and _matches(fault.pattern, method, path, route):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _fault_response(self, fault: _Fault) -> web.Response:
        if fault.status == 429:
            body = fault.body or {
                "message": "You are being rate limited.",
                "retry_after": fault.retry_after,
                "global": fault.is_global,
            }
            headers = {
                "Retry-After": str(fault.retry_after),
                "X-RateLimit-Scope": "global" if fault.is_global else "user",
            }
            return _json_response(body, 429, headers)
        body = fault.body or {"message": f"{fault.status}: Injected failure", "code": 0}
        return _json_response(body, fault.status)

    def hold_next_post(self, channel_id: int, *, after_storing: bool) -> PostHold:
        """Keep the bot's next post in a channel unanswered until `release_held_posts()` (or 15 s).

        ``after_storing=False``: the post is dropped, as when the bot dies before Discord got it (the
        request then ends in a 503). ``after_storing=True``: the message is created and delivered, but
        the answer is held, as when the bot dies before it hears back. ``reached`` is set when it is held.
        """
        hold = PostHold(channel_id, after_storing)
        self._post_holds.append(hold)
        return hold

    def fail_next_post_after_storing(self, channel_id: int, status: int = 503) -> PostHold:
        """Create the bot's next post in a channel, then answer it with a server error.

        Discord sometimes does this: the message exists, the bot is told it failed. A retry without
        the same nonce posts it twice.
        """
        hold = PostHold(channel_id, after_storing=True, status=status)
        hold.released.set()
        self._post_holds.append(hold)
        return hold

    def release_held_posts(self) -> None:
        """Let every held post answer (the bot that sent it may be long gone)."""
        for hold in self._post_holds:
            hold.released.set()
        self._post_holds.clear()

    async def _hold_post(self, channel_id: int, *, stored: bool) -> PostHold | None:
        for hold in self._post_holds:
            if hold.channel_id == channel_id and hold.after_storing == stored and not hold.reached.is_set():
                hold.reached.set()
                self._notify()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(hold.released.wait(), POST_HOLD_LIMIT)
                if hold.status is not None:
                    raise _HTTPError(hold.status, 0, f"{hold.status}: Injected failure after storing")
                return hold
        return None

    def _replay_nonce(self, body: Mapping[str, Any]) -> Json | None:
        """Return the message already created with this nonce (``enforce_nonce``), as Discord does."""
        nonce = body.get("nonce")
        if nonce is None or not body.get("enforce_nonce"):
            return None
        seen = self._nonces.get((self.bot_id, str(nonce)))
        if seen is None or time.monotonic() - seen[1] > self.nonce_window:
            return None
        message = self.messages.get(seen[0])
        if message is None:
            # Discord refuses the nonce of a message deleted shortly before.
            raise _HTTPError(404, 10008, "Unknown Message")
        return message

    def _remember_nonce(self, body: Mapping[str, Any], message: Json) -> None:
        nonce = body.get("nonce")
        if nonce is None:
            return
        message["nonce"] = str(nonce)
        if body.get("enforce_nonce"):
            self._nonces[(self.bot_id, str(nonce))] = (int(message["id"]), time.monotonic())

    async def drop_connection(self, code: int = RESUMABLE_CLOSE_CODE, *, abrupt: bool = False) -> None:
        """Close the bot's gateway socket with ``code`` (4000 lets discord.py RESUME).

        ``abrupt=True`` cuts the TCP connection without a close frame, like a network failure.
        """
        session = self._session
        if session is None or session.conn is None:
            raise RuntimeError("no bot is connected to the gateway")
        conn = session.conn
        session.conn = None
        self._notify()
        if abrupt and conn.transport is not None:
            conn.transport.close()
            return
        await conn.ws.close(code=code, message=b"stand-in dropped the connection")

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT, as Discord does before moving a session."""
        await self._send_op(OP_RECONNECT, None)

    async def invalidate_session(self, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; with ``resumable=False`` the bot must IDENTIFY again."""
        session = self._session
        if session is not None and not resumable:
            self._sessions.pop(session.id, None)
        await self._send_op(OP_INVALID_SESSION, resumable)

    async def _send_op(self, op: int, data: Any) -> None:
        session = self._session
        if session is None or session.conn is None:
            raise RuntimeError("no bot is connected to the gateway")
        conn = session.conn
        async with conn.lock:
            await conn.ws.send_str(json.dumps({"op": op, "d": data}))

    # ------------------------------------------------------------------ gateway

    async def _gateway_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = _Connection(ws=ws, query=dict(request.query), transport=request.transport)
        self._connections.append(conn)
        self.connection_count += 1
        self.gateway_queries.append(conn.query)
        try:
            await ws.send_str(
                json.dumps({"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            )
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    try:
                        await self._on_gateway_payload(conn, json.loads(msg.data))
                    except (ConnectionResetError, RuntimeError):
                        raise
                    except Exception as exc:
                        log.exception("stand-in failed on gateway payload %s", msg.data[:200])
                        self.internal_errors.append(f"gateway: {exc!r}")
                elif msg.type is WSMsgType.ERROR:
                    break
        except (ConnectionResetError, RuntimeError):
            log.debug("gateway connection ended abruptly")
        finally:
            self._connections.remove(conn)
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
            self._notify()
        return ws

    async def _on_gateway_payload(self, conn: _Connection, payload: Json) -> None:
        op, data = payload.get("op"), payload.get("d")
        if op == OP_HEARTBEAT:
            conn.heartbeats += 1
            self.heartbeat_count += 1
            self.acknowledged_seq = max(self.acknowledged_seq, int(data or 0))
            async with conn.lock:
                await conn.ws.send_str(json.dumps({"op": OP_HEARTBEAT_ACK}))
        elif op == OP_IDENTIFY:
            await self._identify(conn, data)
        elif op == OP_RESUME:
            await self._resume(conn, data)
        elif op == OP_REQUEST_GUILD_MEMBERS:
            await self._send_member_chunk(conn, data)
        elif op in (OP_PRESENCE_UPDATE, OP_VOICE_STATE_UPDATE):
            pass
        else:
            log.warning("stand-in got unexpected gateway op %s", op)
        self._notify()

    async def _identify(self, conn: _Connection, data: Json) -> None:
        self.identifies.append(data)
        if self.token is not None and data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.allowed_intents:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        session = _Session(id=secrets.token_hex(16), intents=intents, token=data.get("token", ""))
        self._sessions[session.id] = session
        old = self._session
        if old is not None and old.conn is not None and old.conn is not conn:
            with contextlib.suppress(Exception):
                await old.conn.ws.close(code=4000)
        self._session = session
        conn.session = session
        async with session.lock:
            session.conn = conn
            ready: Json = {
                "v": 10,
                "user": {**self.bot_user, "verified": True, "mfa_enabled": False, "flags": 0},
                "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
                "session_id": session.id,
                "session_type": "normal",
                "resume_gateway_url": self.gateway_url,
                "application": {"id": str(self.application_id), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": [],
                "auth": {},
                "user_settings": {},
                "_trace": ["stand-in"],
            }
            if "shard" in data:
                ready["shard"] = data["shard"]
            await self._emit(session, "READY", ready)
            if self.guild_create_delay:
                await asyncio.sleep(self.guild_create_delay)
            for guild in self.guilds.values():
                await self._emit(session, "GUILD_CREATE", self._guild_create_payload(guild, intents))

    def _guild_payload(self, guild: _Guild) -> Json:
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "preferred_locale": guild.locale,
            "features": [],
            "roles": list(guild.roles.values()),
            "emojis": [],
            "stickers": [],
            "max_members": 500000,
            "max_video_channel_users": 25,
        }

    def _guild_create_payload(self, guild: _Guild, intents: int) -> Json:
        payload = self._guild_payload(guild)
        members = list(guild.members.values())
        if not intents & INTENT_GUILD_MEMBERS:
            # Without the members intent Discord only sends the bot's own member.
            members = [guild.members[self.bot_id]]
        payload.update(
            joined_at=guild.joined_at,
            large=False,
            unavailable=False,
            member_count=len(guild.members),
            members=members,
            channels=[{k: v for k, v in c.items() if k != "guild_id"} for c in guild.channels.values()],
            threads=[],
            presences=[],
            voice_states=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
        )
        return payload

    async def _resume(self, conn: _Connection, data: Json) -> None:
        self.resumes.append(data)
        session = self._sessions.get(data.get("session_id", ""))
        seq = data.get("seq") or 0
        oldest = session.buffer[0][0] if session and session.buffer else 1
        if (
            not self.resume_enabled
            or session is None
            or data.get("token") != session.token
            or seq + 1 < oldest
        ):
            # Not resumable: discord.py closes, then IDENTIFYs afresh on DEFAULT_GATEWAY.
            async with conn.lock:
                await conn.ws.send_str(json.dumps({"op": OP_INVALID_SESSION, "d": False}))
            return
        self._session = session
        conn.session = session
        async with session.lock:
            session.conn = conn
            async with conn.lock:
                for frame_seq, frame in list(session.buffer):
                    if frame_seq > seq:
                        await conn.ws.send_str(frame)
            await self._emit(session, "RESUMED", {"_trace": ["stand-in"]})

    async def _send_member_chunk(self, conn: _Connection, data: Json) -> None:
        session = conn.session
        guild = self.guilds.get(int(data["guild_id"]))
        if session is None or guild is None:
            return
        members = list(guild.members.values())
        if data.get("user_ids"):
            wanted = {int(u) for u in data["user_ids"]}
            members = [m for m in members if int(m["user"]["id"]) in wanted]
        elif data.get("query"):
            members = [m for m in members if m["user"]["username"].startswith(data["query"])]
        if data.get("limit"):
            members = members[: data["limit"]]
        chunk = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
            "nonce": data.get("nonce"),
        }
        async with session.lock:
            await self._emit(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _emit(self, session: _Session, event: str, data: Json) -> None:
        """Number, buffer and send one dispatch; the caller holds ``session.lock``."""
        session.seq += 1
        frame = json.dumps({"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data})
        session.buffer.append((session.seq, frame))
        self.dispatched.append((event, data))
        conn = session.conn
        if conn is not None:
            try:
                async with conn.lock:
                    await conn.ws.send_str(frame)
            except (ConnectionResetError, RuntimeError):
                # The event stays buffered and is replayed if the bot resumes.
                log.debug("could not send %s: socket closing", event)

    def _visible(self, intents: int, event: str, data: Json) -> Json | None:
        """Apply Discord's intent filtering; return the payload to send or None."""
        is_dm = "guild_id" not in data
        if event.startswith("MESSAGE_REACTION"):
            needed = INTENT_DIRECT_MESSAGE_REACTIONS if is_dm else INTENT_GUILD_MESSAGE_REACTIONS
        elif event.startswith("MESSAGE_"):
            needed = INTENT_DIRECT_MESSAGES if is_dm else INTENT_GUILD_MESSAGES
        elif event.startswith("GUILD_MEMBER"):
            needed = INTENT_GUILD_MEMBERS
        elif event.startswith(("GUILD_", "CHANNEL_", "THREAD_")):
            needed = INTENT_GUILDS
        else:
            needed = 0
        if intents & needed != needed:
            return None
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not intents & INTENT_MESSAGE_CONTENT:
            author_id = int(data.get("author", {}).get("id", 0))
            mentioned = any(int(m["id"]) == self.bot_id for m in data.get("mentions", []))
            if not is_dm and author_id != self.bot_id and not mentioned:
                data = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
        return data

    async def dispatch(self, event: str, data: Json) -> bool:
        """Send a DISPATCH event to the bot's session, filtered by its intents; False if filtered out.

        While the socket is down the event is buffered and replayed on RESUME.
        """
        session = self._session
        if session is None:
            raise RuntimeError(f"cannot dispatch {event}: no bot has identified")
        visible = self._visible(session.intents, event, data)
        if visible is None:
            return False
        async with session.lock:
            await self._emit(session, event, visible)
        self._notify()
        return True

    async def _echo(self, event: str, data: Json) -> None:
        """Send an event caused by the bot's own REST call, as Discord does."""
        if self.echo_bot_events and self._session is not None:
            await self.dispatch(event, data)

    # ------------------------------------------------------------------ dispatch helpers

    async def message_create(
        self,
        channel_id: int,
        author_id: int,
        content: str,
        reply_to: int | None = None,
        *,
        embeds: Sequence[Json] = (),
        attachments: Sequence[Json] = (),
        message_id: int | None = None,
    ) -> Json:
        """Post a message as a user; mentions in ``content`` are resolved like Discord does."""
        self._channel(channel_id)
        message = self._build_message(
            channel_id,
            author_id,
            content,
            message_id=message_id,
            reply_to=reply_to,
            embeds=embeds,
            attachments=attachments,
        )
        self._store_message(message, by_bot=False)
        await self.dispatch("MESSAGE_CREATE", self._gateway_message(message))
        return message

    async def dm_message(self, user_id: int, content: str) -> Json:
        """Send the bot a direct message from a user."""
        channel = self._dm_channel(user_id)
        return await self.message_create(int(channel["id"]), user_id, content)

    async def member_add(
        self,
        guild_id: int,
        user_id: int | None = None,
        *,
        username: str | None = None,
        roles: Iterable[int] = (),
        bot: bool = False,
    ) -> int:
        """Make a user join a guild (GUILD_MEMBER_ADD); return the user id."""
        user_id = self.add_member(guild_id, user_id, username=username, roles=roles, bot=bot)
        member = self.guilds[guild_id].members[user_id]
        await self.dispatch("GUILD_MEMBER_ADD", {**member, "guild_id": str(guild_id)})
        return user_id

    async def member_remove(self, guild_id: int, user_id: int) -> None:
        """Make a member leave a guild (GUILD_MEMBER_REMOVE)."""
        self.guilds[guild_id].members.pop(user_id, None)
        await self.dispatch("GUILD_MEMBER_REMOVE", {"guild_id": str(guild_id), "user": self.users[user_id]})

    async def guild_delete(self, guild_id: int) -> None:
        """Remove the bot from a guild (GUILD_DELETE without ``unavailable``, as when it is kicked)."""
        self.guilds.pop(guild_id, None)
        await self.dispatch("GUILD_DELETE", {"id": str(guild_id)})

    def dispatched_message_ids(self, *, up_to_seq: int | None = None) -> list[int]:
        """Return the ids of the MESSAGE_CREATE frames still in the session buffer, up to a sequence number.

        With ``up_to_seq=self.acknowledged_seq``: the messages the bot has told Discord it read.
        """
        session = self._session
        if session is None:
            return []
        ids = []
        for seq, frame in session.buffer:
            if up_to_seq is not None and seq > up_to_seq:
                break
            payload = json.loads(frame)
            if payload.get("t") == "MESSAGE_CREATE":
                ids.append(int(payload["d"]["id"]))
        return ids

    def _reaction_payload(self, channel_id: int, message_id: int, user_id: int, emoji: str) -> Json:
        name, _, emoji_id = emoji.partition(":")
        data: Json = {
            "user_id": str(user_id),
            "channel_id": str(channel_id),
            "message_id": str(message_id),
            "emoji": {"id": emoji_id or None, "name": name},
            "burst": False,
            "type": 0,
        }
        guild = self._guild_of(channel_id)
        if guild is not None:
            data["guild_id"] = str(guild.id)
        return data

    async def reaction_add(self, channel_id: int, message_id: int, user_id: int, emoji: str = "👍") -> None:
        """Add a reaction as a user (``emoji`` is a unicode emoji or ``"name:id"``)."""
        data = self._reaction_payload(channel_id, message_id, user_id, emoji)
        guild = self._guild_of(channel_id)
        if guild is not None and user_id in guild.members:
            data["member"] = guild.members[user_id]
        message = self.messages.get(message_id)
        if message is not None:
            data["message_author_id"] = message["author"]["id"]
        self.reactions.append((channel_id, message_id, emoji, user_id))
        await self.dispatch("MESSAGE_REACTION_ADD", data)

    async def reaction_remove(
        self, channel_id: int, message_id: int, user_id: int, emoji: str = "👍"
    ) -> None:
        """Remove a user's reaction."""
        with contextlib.suppress(ValueError):
            self.reactions.remove((channel_id, message_id, emoji, user_id))
        await self.dispatch(
            "MESSAGE_REACTION_REMOVE", self._reaction_payload(channel_id, message_id, user_id, emoji)
        )

    def _find_command(
        self, name: str, guild_id: int | None, command_type: int
    ) -> tuple[Json | None, int | None]:
        if guild_id is not None:
            for command in self.guild_commands.get(guild_id, []):
                if command["name"] == name and command.get("type", 1) == command_type:
                    return command, guild_id
        for command in self.global_commands:
            if command["name"] == name and command.get("type", 1) == command_type:
                return command, None
        return None, None

    def _build_options(
        self, schema: Sequence[Json], values: Mapping[str, Any], guild: _Guild | None, resolved: Json
    ) -> list[Json]:
        by_name = {o["name"]: o for o in schema}
        options = []
        for name, value in values.items():
            option_type = by_name.get(name, {}).get("type") or _python_option_type(value)
            if isinstance(value, Mapping):
                option = {"name": name, **value}
                option_type = option.get("type", option_type)
                option["type"] = option_type
            else:
                option = {"name": name, "type": option_type, "value": value}
            if option_type in (6, 7, 8, 9):
                option["value"] = str(option["value"])
                self._resolve(int(option["value"]), option_type, guild, resolved)
            options.append(option)
        return options

    def _resolve(self, snowflake: int, option_type: int, guild: _Guild | None, resolved: Json) -> None:
        if option_type in (6, 9) and snowflake in self.users:
            resolved.setdefault("users", {})[str(snowflake)] = self.users[snowflake]
            if guild is not None and snowflake in guild.members:
                member = {k: v for k, v in guild.members[snowflake].items() if k != "user"}
                member["permissions"] = str(self.permissions(guild.id, snowflake))
                resolved.setdefault("members", {})[str(snowflake)] = member
        if option_type in (8, 9) and guild is not None and snowflake in guild.roles:
            resolved.setdefault("roles", {})[str(snowflake)] = guild.roles[snowflake]
        if option_type == 7 and guild is not None and snowflake in guild.channels:
            channel = guild.channels[snowflake]
            resolved.setdefault("channels", {})[str(snowflake)] = {
                **{k: channel[k] for k in ("id", "name", "type", "parent_id", "guild_id")},
                "permissions": str(self.permissions(guild.id, self.bot_id, snowflake)),
            }

    def _interaction_base(
        self, type_: int, channel_id: int, user_id: int, locale: str, guild_locale: str | None
    ) -> tuple[Json, _Interaction]:
        channel = self._channel(channel_id)
        guild = self._guild_of(channel_id)
        interaction_id = self.snowflake()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        payload: Json = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": type_,
            "token": token,
            "version": 1,
            "locale": locale,
            "channel_id": str(channel_id),
            "channel": {k: v for k, v in channel.items() if k != "permission_overwrites"},
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild is not None:
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.locale, "features": []},
                guild_locale=guild_locale or guild.locale,
                member=self._member_with_permissions(guild, user_id, channel_id),
                app_permissions=str(self.permissions(guild.id, self.bot_id, channel_id)),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            payload.update(
                user=self.users[user_id],
                app_permissions=str(PERM_SEND_MESSAGES | PERM_EMBED_LINKS | PERM_ATTACH_FILES),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        record = _Interaction(
            id=interaction_id,
            token=token,
            type=type_,
            channel_id=channel_id,
            guild_id=guild.id if guild else None,
            user_id=user_id,
            created=time.monotonic(),
        )
        return payload, record

    async def interaction_create(
        self,
        name: str,
        *,
        channel_id: int,
        user_id: int,
        options: Mapping[str, Any] | None = None,
        raw_options: Sequence[Json] | None = None,
        command_type: int = 1,
        target_id: int | None = None,
        locale: str = "en-US",
        guild_locale: str | None = None,
        require_synced: bool = True,
    ) -> SentInteraction:
        """Invoke an application command (interaction type 2) as ``user_id`` in ``channel_id``.

        ``name`` may hold subcommands (``"contest create"``). ``options`` maps option names
        to values; their types come from the synced command (users, roles and channels get
        ``resolved`` data filled in), or a value may be a raw option dict. ``raw_options``
        bypasses all of that.
        """
        payload, record = self._interaction_base(2, channel_id, user_id, locale, guild_locale)
        guild = self._guild_of(channel_id)
        root, *subs = name.split()
        command, command_guild = self._find_command(root, guild.id if guild else None, command_type)
        if command is None and require_synced:
            raise LookupError(f"command {root!r} was never synced to the stand-in")
        resolved: Json = {}
        schema = command.get("options", []) if command else []
        nest_types = []
        for sub in subs:
            sub_schema = next((o for o in schema if o["name"] == sub), {"type": 1, "options": []})
            nest_types.append(sub_schema.get("type", 1))
            schema = sub_schema.get("options", [])
        if raw_options is not None:
            leaf = list(raw_options)
        else:
            leaf = self._build_options(schema, options or {}, guild, resolved)
        for sub, sub_type in reversed(list(zip(subs, nest_types, strict=True))):
            leaf = [{"name": sub, "type": sub_type, "options": leaf}]
        data: Json = {
            "id": command["id"] if command else str(self.snowflake()),
            "name": root,
            "type": command_type,
            "options": leaf,
        }
        if resolved:
            data["resolved"] = resolved
        if command_guild is not None:
            data["guild_id"] = str(command_guild)
        if target_id is not None:
            data["target_id"] = str(target_id)
            target_resolved: Json = {}
            if command_type == 2:
                self._resolve(target_id, 6, guild, target_resolved)
            elif target_id in self.messages:
                target_resolved["messages"] = {str(target_id): self.messages[target_id]}
            data["resolved"] = target_resolved
        payload["data"] = data
        return await self._send_interaction(payload, record)

    async def component_click(
        self,
        message_id: int,
        user_id: int,
        custom_id: str,
        *,
        component_type: int = 2,
        values: Sequence[str] | None = None,
        locale: str = "en-US",
    ) -> SentInteraction:
        """Click a button (or pick ``values`` in a select) on a message the bot sent (type 3)."""
        message = self.messages[message_id]
        channel_id = int(message["channel_id"])
        payload, record = self._interaction_base(3, channel_id, user_id, locale, None)
        record.message_id = message_id
        payload["message"] = message
        data: Json = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        payload["data"] = data
        return await self._send_interaction(payload, record)

    async def modal_submit(
        self,
        channel_id: int,
        user_id: int,
        custom_id: str,
        fields: Mapping[str, str],
        *,
        locale: str = "en-US",
    ) -> SentInteraction:
        """Submit a modal (type 5) whose text inputs have the given custom ids and values."""
        payload, record = self._interaction_base(5, channel_id, user_id, locale, None)
        payload["data"] = {
            "custom_id": custom_id,
            "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": key, "value": value}]}
                for key, value in fields.items()
            ],
        }
        return await self._send_interaction(payload, record)

    async def _send_interaction(self, payload: Json, record: _Interaction) -> SentInteraction:
        self.interactions[record.id] = record
        await self.dispatch("INTERACTION_CREATE", payload)
        return SentInteraction(id=record.id, token=record.token, payload=payload)

    async def burst(
        self,
        n: int,
        channels: Sequence[int],
        members: Sequence[int],
        *,
        content: str = "load test message {i}",
        sent_ids: list[int] | None = None,
    ) -> float:
        """Send ``n`` MESSAGE_CREATE frames round-robin over channels and authors; return seconds taken.

        The frames are not kept in ``messages`` (to bound memory); the session buffer still
        holds the latest ones for RESUME. ``sent_ids`` collects the message ids in sending order.
        """
        session = self._session
        if session is None or session.conn is None:
            raise RuntimeError("no bot is connected to the gateway")
        strip = not session.intents & INTENT_MESSAGE_CONTENT
        guild_ids = {c: self._guild_of(c) for c in channels}
        started = time.perf_counter()
        async with session.lock:
            conn = session.conn
            timestamp = _iso()
            for i, channel_id, author_id in zip(
                range(n), itertools.cycle(channels), itertools.cycle(members), strict=False
            ):
                guild = guild_ids[channel_id]
                message_id = self.snowflake()
                if sent_ids is not None:
                    sent_ids.append(message_id)
                data = {
                    "id": str(message_id),
                    "type": 0,
                    "channel_id": str(channel_id),
                    "author": self.users[author_id],
                    "content": "" if strip and guild else content.format(i=i),
                    "timestamp": timestamp,
                    "edited_timestamp": None,
                    "tts": False,
                    "mention_everyone": False,
                    "mentions": [],
                    "mention_roles": [],
                    "attachments": [],
                    "embeds": [],
                    "components": [],
                    "pinned": False,
                    "flags": 0,
                }
                if guild is not None:
                    data["guild_id"] = str(guild.id)
                    data["member"] = {k: v for k, v in guild.members[author_id].items() if k != "user"}
                session.seq += 1
                frame = json.dumps({"op": OP_DISPATCH, "t": "MESSAGE_CREATE", "s": session.seq, "d": data})
                session.buffer.append((session.seq, frame))
                async with conn.lock:
                    await conn.ws.send_str(frame)
        self._notify()
        return time.perf_counter() - started

    # ------------------------------------------------------------------ REST plumbing

    def _build_routes(self) -> list[_Route]:
        table: list[tuple[str, str, Callable[..., Awaitable[web.Response]]]] = [
            ("GET", "/users/@me", self._get_me),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/users/{user_id}", self._get_user),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/applications/@me", self._get_application),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("GET", "/applications/{application_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/commands", self._put_commands),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self._put_commands),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("PATCH", "/channels/{channel_id}", self._patch_channel),
            ("POST", "/channels/{channel_id}/typing", self._typing),
            ("GET", "/channels/{channel_id}/messages", self._get_messages),
            ("POST", "/channels/{channel_id}/messages", self._post_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._patch_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            ("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self._put_reaction),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self._delete_reaction,
            ),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}",
                self._delete_reaction,
            ),
            ("GET", "/guilds/{guild_id}", self._get_guild),
            ("GET", "/guilds/{guild_id}/channels", self._get_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self._get_roles),
            ("GET", "/guilds/{guild_id}/members", self._get_members),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
            ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self._add_role),
            ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self._remove_role),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._interaction_callback),
            ("POST", "/webhooks/{application_id}/{token}", self._followup),
            ("GET", "/webhooks/{application_id}/{token}/messages/{message_id}", self._get_webhook_message),
            ("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}", self._edit_webhook_message),
            (
                "DELETE",
                "/webhooks/{application_id}/{token}/messages/{message_id}",
                self._delete_webhook_message,
            ),
        ]
        return [_Route(method, template, _compile(template), handler) for method, template, handler in table]

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in self._routes:
            if route.method != method:
                continue
            found = route.regex.match(path)
            if found:
                return route, found.groupdict()
        return None, {}

    async def _rest_handler(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        method = request.method
        body = await _read_body(request)
        route, params = self._match(method, path)
        route_key = route.key if route else None

        def record(status: int) -> RecordedRequest:
            entry = RecordedRequest(
                method=method,
                path=path,
                route=route_key,
                json=body,
                query=dict(request.query),
                status=status,
                authorization=request.headers.get("Authorization"),
            )
            self.requests.append(entry)
            self._notify()
            return entry

        if route is None:
            self.unknown_routes.append(record(404))
            log.warning("stand-in has no route for %s %s", method, path)
            return _json_response({"message": "404: Not Found", "code": 0}, 404)
        fault = self._take_fault(method, path, route_key)
        if fault is not None:
            record(fault.status)
            return self._fault_response(fault)
        needs_auth = not path.startswith(("/interactions/", "/webhooks/"))
        if (
            needs_auth
            and self.token is not None
            and request.headers.get("Authorization") != f"Bot {self.token}"
        ):
            record(401)
            return _json_response({"message": "401: Unauthorized", "code": 0}, 401)
        try:
            response = await route.handler(body=body, query=request.query, **params)
        except _HTTPError as exc:
            response = _json_response(exc.body, exc.status)
        except Exception as exc:
            # A bug in the stand-in itself: answer 400, not 500, so discord.py fails at once
            # instead of retrying for half a minute, and keep it for the fixture to report.
            log.exception("stand-in failed on %s %s", method, path)
            self.internal_errors.append(f"{method} {path}: {exc!r}")
            response = _json_response({"code": 0, "message": f"stand-in error: {exc!r}"}, 400)
        record(response.status)
        return response

    # ------------------------------------------------------------------ REST handlers

    async def _get_me(self, **_: Any) -> web.Response:
        return _json_response(
            {**self.bot_user, "verified": True, "mfa_enabled": False, "flags": 0, "locale": "en-US"}
        )

    async def _get_user(self, user_id: str, **_: Any) -> web.Response:
        user = self.users.get(int(user_id))
        if user is None:
            raise _HTTPError(404, 10013, "Unknown User")
        return _json_response(user)

    async def _get_application(self, **_: Any) -> web.Response:
        return _json_response(
            {
                "id": str(self.application_id),
                "name": self.bot_user["username"],
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": self.users[self.owner_id],
                "team": None,
                "bot": self.bot_user,
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "tags": [],
            }
        )

    async def _get_gateway(self, **_: Any) -> web.Response:
        return _json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, **_: Any) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}
        return _json_response({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    def _commands_for(self, guild_id: str | None) -> list[Json]:
        if guild_id is None:
            return self.global_commands
        return self.guild_commands.get(int(guild_id), [])

    async def _get_commands(self, application_id: str, guild_id: str | None = None, **_: Any) -> web.Response:
        if int(application_id) != self.application_id:
            raise _HTTPError(403, 50035, "Invalid Form Body")
        return _json_response(self._commands_for(guild_id))

    async def _put_commands(
        self, application_id: str, body: Any, guild_id: str | None = None, **_: Any
    ) -> web.Response:
        if int(application_id) != self.application_id:
            raise _HTTPError(403, 50035, "Invalid Form Body")
        gid = int(guild_id) if guild_id else None
        if gid is not None:
            self._guild(gid)
        stored = []
        for command in body or []:
            command_type = command.get("type", 1)
            key = (gid, command["name"], command_type)
            command_id = self._command_ids.setdefault(key, self.snowflake())
            entry = {
                "default_member_permissions": None,
                "nsfw": False,
                "options": [],
                **command,
                "id": str(command_id),
                "application_id": str(self.application_id),
                "type": command_type,
                "version": str(self.snowflake()),
            }
            if gid is not None:
                entry["guild_id"] = str(gid)
            stored.append(entry)
        if gid is None:
            self.global_commands = stored
        else:
            self.guild_commands[gid] = stored
        return _json_response(stored)

    async def _get_channel(self, channel_id: str, **_: Any) -> web.Response:
        return _json_response(self._channel(int(channel_id)))

    async def _patch_channel(self, channel_id: str, body: Any, **_: Any) -> web.Response:
        cid = int(channel_id)
        channel = self._channel(cid)
        self._require(self._guild_of(cid), cid, PERM_MANAGE_CHANNELS)
        editable = (
            "name",
            "topic",
            "rate_limit_per_user",
            "nsfw",
            "position",
            "parent_id",
            "permission_overwrites",
        )
        for key in editable:
            if key in (body or {}):
                channel[key] = body[key]
        await self._echo("CHANNEL_UPDATE", channel)
        return _json_response(channel)

    async def _typing(self, channel_id: str, **_: Any) -> web.Response:
        self._channel(int(channel_id))
        return _no_content()

    async def _get_messages(self, channel_id: str, query: Mapping[str, str], **_: Any) -> web.Response:
        cid = int(channel_id)
        self._channel(cid)
        self._require(self._guild_of(cid), cid, PERM_READ_MESSAGE_HISTORY)
        ids = [i for i in self._channel_messages.get(cid, []) if i in self.messages]
        if "before" in query:
            ids = [i for i in ids if i < int(query["before"])]
        if "after" in query:
            ids = [i for i in ids if i > int(query["after"])]
        limit = int(query.get("limit", 50))
        newest_first = [self.messages[i] for i in reversed(ids)]
        if "after" in query:
            return _json_response(list(reversed([self.messages[i] for i in ids[:limit]])))
        return _json_response(newest_first[:limit])

    async def _post_message(self, channel_id: str, body: Any, **_: Any) -> web.Response:
        cid = int(channel_id)
        channel = self._channel(cid)
        guild = self._guild_of(cid)
        if channel["type"] == 1:
            recipient = int(channel["recipients"][0]["id"])
            if recipient in self.dms_blocked:
                raise _HTTPError(403, 50007, "Cannot send messages to this user")
        self._require(guild, cid, PERM_SEND_MESSAGES)
        body = body or {}
        if await self._hold_post(cid, stored=False) is not None:
            raise _HTTPError(503, 0, "Service Unavailable (the stand-in dropped a held post)")
        replayed = self._replay_nonce(body)
        if replayed is not None:
            return _json_response(replayed)
        content = body.get("content") or ""
        if not (
            content
            or body.get("embeds")
            or body.get("attachments")
            or body.get("components")
            or body.get("sticker_ids")
        ):
            raise _HTTPError(400, 50006, "Cannot send an empty message")
        if len(content) > 2000:
            raise _HTTPError(400, 50035, "Invalid Form Body: content must be 2000 or fewer in length.")
        reference = body.get("message_reference") or {}
        reply_to = int(reference["message_id"]) if reference.get("message_id") else None
        message = self._build_message(
            cid,
            self.bot_id,
            content,
            reply_to=reply_to,
            embeds=body.get("embeds") or [],
            attachments=_attachments(body, self.snowflake),
            components=body.get("components") or [],
            flags=int(body.get("flags") or 0),
        )
        self._remember_nonce(body, message)
        self._store_message(message, by_bot=True)
        await self._echo("MESSAGE_CREATE", self._gateway_message(message))
        await self._hold_post(cid, stored=True)
        return _json_response(message)

    async def _get_message(self, channel_id: str, message_id: str, **_: Any) -> web.Response:
        return _json_response(self._message(int(channel_id), int(message_id)))

    def _edit(self, message: Json, body: Mapping[str, Any]) -> Json:
        for key in ("content", "embeds", "components", "flags", "attachments"):
            if key in body and body[key] is not None:
                message[key] = body[key] if key != "attachments" else _attachments(body, self.snowflake)
        message["edited_timestamp"] = _iso()
        self._notify()
        return message

    async def _patch_message(self, channel_id: str, message_id: str, body: Any, **_: Any) -> web.Response:
        message = self._message(int(channel_id), int(message_id))
        if int(message["author"]["id"]) != self.bot_id:
            raise _HTTPError(403, 50005, "Cannot edit a message authored by another user")
        self._edit(message, body or {})
        await self._echo("MESSAGE_UPDATE", self._gateway_message(message))
        return _json_response(message)

    async def _delete_message(self, channel_id: str, message_id: str, **_: Any) -> web.Response:
        cid, mid = int(channel_id), int(message_id)
        message = self._message(cid, mid)
        if int(message["author"]["id"]) != self.bot_id:
            self._require(self._guild_of(cid), cid, PERM_MANAGE_MESSAGES)
        del self.messages[mid]
        self._notify()
        data = {"id": message_id, "channel_id": channel_id}
        guild = self._guild_of(cid)
        if guild is not None:
            data["guild_id"] = str(guild.id)
        await self._echo("MESSAGE_DELETE", data)
        return _no_content()

    async def _put_reaction(self, channel_id: str, message_id: str, emoji: str, **_: Any) -> web.Response:
        cid, mid = int(channel_id), int(message_id)
        self._message(cid, mid)
        self._require(self._guild_of(cid), cid, PERM_ADD_REACTIONS | PERM_READ_MESSAGE_HISTORY)
        self.reactions.append((cid, mid, emoji, self.bot_id))
        self._notify()
        await self._echo("MESSAGE_REACTION_ADD", self._reaction_payload(cid, mid, self.bot_id, emoji))
        return _no_content()

    async def _delete_reaction(
        self, channel_id: str, message_id: str, emoji: str, user_id: str = "@me", **_: Any
    ) -> web.Response:
        cid, mid = int(channel_id), int(message_id)
        self._message(cid, mid)
        uid = self.bot_id if user_id == "@me" else int(user_id)
        if uid != self.bot_id:
            self._require(self._guild_of(cid), cid, PERM_MANAGE_MESSAGES)
        with contextlib.suppress(ValueError):
            self.reactions.remove((cid, mid, emoji, uid))
        self._notify()
        return _no_content()

    def _dm_channel(self, user_id: int) -> Json:
        if user_id not in self.users:
            raise _HTTPError(404, 10013, "Unknown User")
        channel = self.dm_channels.get(user_id)
        if channel is None:
            channel_id = self.snowflake()
            channel = {
                "id": str(channel_id),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self.users[user_id]],
            }
            self.dm_channels[user_id] = channel
            self._channel_messages[channel_id] = []
        return channel

    async def _create_dm(self, body: Any, **_: Any) -> web.Response:
        return _json_response(self._dm_channel(int(body["recipient_id"])))

    async def _get_guild(self, guild_id: str, query: Mapping[str, str], **_: Any) -> web.Response:
        guild = self._guild(int(guild_id))
        payload = self._guild_payload(guild)
        if query.get("with_counts") in ("true", "1"):
            payload.update(approximate_member_count=len(guild.members), approximate_presence_count=0)
        return _json_response(payload)

    async def _get_guild_channels(self, guild_id: str, **_: Any) -> web.Response:
        return _json_response(list(self._guild(int(guild_id)).channels.values()))

    async def _get_roles(self, guild_id: str, **_: Any) -> web.Response:
        return _json_response(list(self._guild(int(guild_id)).roles.values()))

    async def _get_members(self, guild_id: str, query: Mapping[str, str], **_: Any) -> web.Response:
        guild = self._guild(int(guild_id))
        after = int(query.get("after", 0))
        limit = int(query.get("limit", 1))
        members = sorted(
            (m for u, m in guild.members.items() if u > after), key=lambda m: int(m["user"]["id"])
        )
        return _json_response(members[:limit])

    async def _get_member(self, guild_id: str, user_id: str, **_: Any) -> web.Response:
        guild = self._guild(int(guild_id))
        return _json_response(self._member(guild, int(user_id)))

    def _check_role_change(self, guild: _Guild, role_id: int) -> None:
        if role_id not in guild.roles:
            raise _HTTPError(404, 10011, "Unknown Role")
        self._require(guild, None, PERM_MANAGE_ROLES)
        role = guild.roles[role_id]
        perms = self.permissions(guild.id, self.bot_id)
        if role["managed"] or (
            not perms & PERM_ADMINISTRATOR and role["position"] >= self._top_role_position(guild, self.bot_id)
        ):
            raise _HTTPError(403, 50013, "Missing Permissions")

    async def _add_role(self, guild_id: str, user_id: str, role_id: str, **_: Any) -> web.Response:
        guild = self._guild(int(guild_id))
        member = self._member(guild, int(user_id))
        self._check_role_change(guild, int(role_id))
        if role_id not in member["roles"]:
            member["roles"].append(role_id)
        self._notify()
        await self._echo("GUILD_MEMBER_UPDATE", {**member, "guild_id": guild_id})
        return _no_content()

    async def _remove_role(self, guild_id: str, user_id: str, role_id: str, **_: Any) -> web.Response:
        guild = self._guild(int(guild_id))
        member = self._member(guild, int(user_id))
        self._check_role_change(guild, int(role_id))
        if role_id in member["roles"]:
            member["roles"].remove(role_id)
        self._notify()
        await self._echo("GUILD_MEMBER_UPDATE", {**member, "guild_id": guild_id})
        return _no_content()

    def _interaction_by_token(self, token: str) -> _Interaction:
        for record in self.interactions.values():
            if record.token == token:
                return record
        raise _HTTPError(404, 10015, "Unknown Webhook")

    def _record_reply(
        self, record: _Interaction, kind: str, type_: int | None, body: Any, message_id: int | None
    ) -> None:
        reply = InteractionReply(record.id, record.token, kind, type_, body, message_id)
        self.interaction_responses.append(reply)
        self._notify()

    def _interaction_message(
        self, record: _Interaction, data: Mapping[str, Any], *, loading: bool = False
    ) -> Json:
        flags = int(data.get("flags") or 0) | (128 if loading else 0)
        extra = {
            "webhook_id": str(self.application_id),
            "application_id": str(self.application_id),
            "interaction_metadata": {
                "id": str(record.id),
                "type": record.type,
                "user": self.users[record.user_id],
                "authorizing_integration_owners": {"0": str(record.guild_id or 0)},
            },
        }
        message = self._build_message(
            record.channel_id,
            self.bot_id,
            data.get("content") or "",
            embeds=data.get("embeds") or [],
            attachments=_attachments(data, self.snowflake),
            components=data.get("components") or [],
            flags=flags,
            extra=extra,
        )
        message["type"] = 20 if record.type == 2 else 0
        self._store_message(message, by_bot=True)
        return message

    async def _interaction_callback(
        self, interaction_id: str, token: str, body: Any, query: Mapping[str, str], **_: Any
    ) -> web.Response:
        record = self.interactions.get(int(interaction_id))
        if record is None or record.token != token:
            raise _HTTPError(404, 10062, "Unknown interaction")
        if (
            self.interaction_deadline is not None
            and time.monotonic() - record.created > self.interaction_deadline
        ):
            raise _HTTPError(404, 10062, "Unknown interaction")
        if record.acknowledged:
            raise _HTTPError(400, 40060, "Interaction has already been acknowledged.")
        body = body or {}
        callback_type = int(body.get("type", 0))
        data = body.get("data") or {}
        record.acknowledged = True
        record.callback_type = callback_type
        message: Json | None = None
        if callback_type == 4:
            message = self._interaction_message(record, data)
        elif callback_type == 5:
            message = self._interaction_message(record, data, loading=True)
        elif callback_type == 7 and record.message_id is not None:
            message = self._edit(self.messages[record.message_id], data)
        elif callback_type == 6 and record.message_id is not None:
            message = self.messages[record.message_id]
        if message is not None:
            record.original_id = int(message["id"])
        self._record_reply(record, "callback", callback_type, body, record.original_id)
        if message is not None and callback_type == 4 and not int(message["flags"]) & 64:
            await self._echo("MESSAGE_CREATE", self._gateway_message(message))
        if query.get("with_response") not in ("1", "true"):
            return _no_content()
        resource: Json = {"type": callback_type}
        if message is not None and callback_type in (4, 5, 7):
            resource["message"] = message
        return _json_response(
            {
                "interaction": {
                    "id": interaction_id,
                    "type": record.type,
                    "activity_instance_id": None,
                    "response_message_id": str(record.original_id) if record.original_id else None,
                    "response_message_loading": callback_type == 5,
                    "response_message_ephemeral": bool(int(data.get("flags") or 0) & 64),
                },
                "resource": resource,
            }
        )

    def _webhook_interaction(self, application_id: str, token: str) -> _Interaction:
        if int(application_id) != self.application_id:
            raise _HTTPError(404, 10015, "Unknown Webhook")
        record = self._interaction_by_token(token)
        if not record.acknowledged:
            raise _HTTPError(404, 10015, "Unknown Webhook")
        return record

    def _webhook_target(self, record: _Interaction, message_id: str) -> Json:
        target = record.original_id if message_id == "@original" else int(message_id)
        if target is None or target not in self.messages:
            raise _HTTPError(404, 10008, "Unknown Message")
        return self.messages[target]

    async def _followup(
        self, application_id: str, token: str, body: Any, query: Mapping[str, str], **_: Any
    ) -> web.Response:
        record = self._webhook_interaction(application_id, token)
        message = self._interaction_message(record, body or {})
        self._record_reply(record, "followup", None, body, int(message["id"]))
        if query.get("wait") in ("1", "true"):
            return _json_response(message)
        return _no_content()

    async def _get_webhook_message(
        self, application_id: str, token: str, message_id: str, **_: Any
    ) -> web.Response:
        record = self._webhook_interaction(application_id, token)
        return _json_response(self._webhook_target(record, message_id))

    async def _edit_webhook_message(
        self, application_id: str, token: str, message_id: str, body: Any, **_: Any
    ) -> web.Response:
        record = self._webhook_interaction(application_id, token)
        message = self._webhook_target(record, message_id)
        self._edit(message, body or {})
        message["flags"] = int(message["flags"]) & ~128
        self._record_reply(record, "edit", None, body, int(message["id"]))
        return _json_response(message)

    async def _delete_webhook_message(
        self, application_id: str, token: str, message_id: str, **_: Any
    ) -> web.Response:
        record = self._webhook_interaction(application_id, token)
        message = self._webhook_target(record, message_id)
        del self.messages[int(message["id"])]
        self._record_reply(record, "delete", None, None, int(message["id"]))
        return _no_content()


def _matches(pattern: str, method: str, path: str, route: str | None) -> bool:
    if pattern == route:
        return True
    if " " not in pattern:
        return fnmatch.fnmatchcase(path, pattern) or (route is not None and route.endswith(" " + pattern))
    return fnmatch.fnmatchcase(f"{method} {path}", pattern)


def _python_option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3


def _attachments(body: Mapping[str, Any], new_id: Callable[[], int]) -> list[Json]:
    attachments = []
    for item in body.get("attachments") or []:
        name = item.get("filename", "file")
        attachment_id = new_id()
        attachments.append(
            {
                "id": str(attachment_id),
                "filename": name,
                "size": item.get("size", 0),
                "url": f"https://cdn.discordapp.com/attachments/0/{attachment_id}/{name}",
                "proxy_url": f"https://media.discordapp.net/attachments/0/{attachment_id}/{name}",
                "content_type": item.get("content_type"),
                "description": item.get("description"),
            }
        )
    return attachments


async def _read_body(request: web.Request) -> Any:
    """Return the JSON body, or for multipart uploads the ``payload_json`` part with file sizes."""
    if not request.can_read_body:
        return None
    if request.content_type.startswith("multipart/"):
        payload: Json = {}
        files: dict[str, tuple[str, int, str | None]] = {}
        reader = await request.multipart()
        async for part in reader:
            if part.name == "payload_json":
                payload = json.loads(await part.text())
            else:
                data = await part.read()
                files[part.name or ""] = (
                    part.filename or "file",
                    len(data),
                    part.headers.get("Content-Type"),
                )
        for index, attachment in enumerate(payload.get("attachments") or []):
            filename, size, content_type = files.get(f"files[{attachment.get('id', index)}]", (None, 0, None))
            attachment.setdefault("filename", filename or "file")
            attachment["size"] = size
            attachment["content_type"] = content_type
        return payload
    text = await request.text()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@contextlib.contextmanager
def discord_py_pointed_at(standin: DiscordStandIn) -> Iterator[None]:
    """Redirect in-process discord.py (REST base and default gateway) to the stand-in, then restore."""
    import discord.gateway
    import discord.http
    import yarl

    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = standin.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(standin.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
