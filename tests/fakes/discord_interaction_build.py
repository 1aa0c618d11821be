"""Building interactions for the fake Discord: INTERACTION_CREATE payloads the way the client sends them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from .discord_cdn import Cdn, FakeFile
from .discord_payloads import channel_payload, member_payload, role_payload, user_payload, wire
from .discord_world import (
    ATTACHMENT_SIZE_LIMIT_BYTES,
    DM_CHANNEL,
    FLAG_LOADING,
    USE_APPLICATION_COMMANDS,
    FakeChannel,
    FakeUser,
    World,
)

APPLICATION_COMMAND, MESSAGE_COMPONENT = 2, 3
# Application command option types.
SUBCOMMAND, SUBCOMMAND_GROUP, STRING, INTEGER, BOOLEAN = 1, 2, 3, 4, 5
USER, CHANNEL, ROLE, NUMBER, ATTACHMENT = 6, 7, 8, 10, 11


@dataclass
class FakeInteraction:
    """An interaction the fake dispatched, and everything the bot answered to it."""

    id: int
    token: str
    type: int
    channel_id: int
    guild_id: int | None
    author: FakeUser
    payload: dict[str, Any]
    dispatched_at: float = 0.0
    callbacks: list[dict[str, Any]] = field(default_factory=list)  # every callback body received
    response_type: int | None = None  # the accepted callback type
    deferred: bool = False
    ephemeral: bool = False  # True once any response or followup was ephemeral
    followups: list[dict[str, Any]] = field(default_factory=list)
    response_message: dict[str, Any] | None = None  # @original, possibly still "thinking"

    @property
    def original(self) -> dict[str, Any] | None:
        """Return the original response once it has content (None while only "thinking")."""
        message = self.response_message
        return None if message is None or message["flags"] & FLAG_LOADING else message

    def messages(self) -> list[dict[str, Any]]:
        """Return what the user sees, in order: the original, then followups (each message once)."""
        seen = [] if self.original is None else [self.original]
        return seen + [f for f in self.followups if all(f["id"] != s["id"] for s in seen)]


class InteractionBuilder:
    """Turn "a user runs /cmd" or "a user clicks a button" into a registered FakeInteraction."""

    def __init__(self, world: World, cdn: Cdn) -> None:
        self.world = world
        self.cdn = cdn
        self.by_id: dict[int, FakeInteraction] = {}
        self.by_token: dict[str, FakeInteraction] = {}

    def build_slash(
        self,
        name: str,
        options: dict[str, Any],
        channel: FakeChannel,
        author: FakeUser,
        subcommand: str | None,
    ) -> FakeInteraction:
        """Build a slash-command interaction from the synced command, as the Discord client would."""
        guild = self.world.guilds.get(channel.guild_id or 0)
        command = (self.world.commands.get(guild.id, {}) if guild else {}).get(name)
        command = command or self.world.commands[None].get(name)
        if command is None:
            synced = {scope: list(cmds) for scope, cmds in self.world.commands.items()}
            raise AssertionError(
                f"/{name} was never synced, so Discord would not offer it (synced: {synced})"
            )
        context = 1 if channel.type == DM_CHANNEL else 0
        if context not in (command.get("contexts") or [0, 1, 2]):
            raise AssertionError(f"/{name} is not available in this context ({context})")
        if not self.world.permissions_for(channel, author.id) & USE_APPLICATION_COMMANDS:
            raise AssertionError(f"{author.name} lacks USE_APPLICATION_COMMANDS in {channel.name}")
        needed = int(command.get("default_member_permissions") or 0)
        if guild is not None and self.world.guild_permissions(guild, author.id) & needed != needed:
            raise AssertionError(f"/{name} is hidden from {author.name} (default_member_permissions)")
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1}
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        typed, resolved = self._typed_options(command.get("options") or [], options, subcommand, channel)
        if typed:
            data["options"] = typed
        if resolved:
            data["resolved"] = resolved
        return self._new(APPLICATION_COMMAND, channel, author, data)

    def build_click(
        self, message: dict[str, Any], custom_id: str, author: FakeUser, values: list[str] | None
    ) -> FakeInteraction:
        """Build a component interaction (button, or select menu when `values` is given)."""
        components = [c for row in message.get("components") or [] for c in row.get("components", [])]
        found = [c for c in components if c.get("custom_id") == custom_id]
        if not found:
            raise AssertionError(f"message {message['id']} has no component {custom_id!r}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": found[0]["type"]}
        if values is not None:
            data["values"] = values
        channel = self.world.channels[int(message["channel_id"])]
        interaction = self._new(MESSAGE_COMPONENT, channel, author, data)
        interaction.payload["message"] = wire(self.world, message)
        return interaction

    def _typed_options(
        self, spec: list[dict[str, Any]], values: dict[str, Any], subcommand: str | None, channel: FakeChannel
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Nest options under the subcommand (group) path and type them from the synced spec."""
        if subcommand is None:
            if any(o["type"] in (SUBCOMMAND, SUBCOMMAND_GROUP) for o in spec):
                raise AssertionError("this command needs a subcommand")
            return self._leaf_options(spec, values, channel)
        path = subcommand.split()
        nodes: list[dict[str, Any]] = []
        for part in path:
            option = next((o for o in spec if o["name"] == part and o["type"] in (1, 2)), None)
            if option is None:
                raise AssertionError(f"unknown subcommand {part!r}")
            nodes.append({"name": part, "type": option["type"], "options": []})
            spec = option.get("options") or []
        leaf, resolved = self._leaf_options(spec, values, channel)
        nodes[-1]["options"] = leaf
        if len(nodes) == 2:
            nodes[0]["options"] = [nodes[1]]
        return [nodes[0]], resolved

    def _leaf_options(
        self, spec: list[dict[str, Any]], values: dict[str, Any], channel: FakeChannel
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Check names, required options, types, choices and ranges; build `resolved` for entities."""
        by_name = {o["name"]: o for o in spec}
        if unknown := set(values) - set(by_name):
            raise AssertionError(f"unknown options {sorted(unknown)}; the command has {sorted(by_name)}")
        if missing := [o["name"] for o in spec if o.get("required") and o["name"] not in values]:
            raise AssertionError(f"missing required options {missing}")
        typed: list[dict[str, Any]] = []
        resolved: dict[str, dict[str, Any]] = {}
        guild = self.world.guilds.get(channel.guild_id or 0)
        for name, value in values.items():
            option = by_name[name]
            kind = option["type"]
            if kind == ATTACHMENT:
                if not isinstance(value, FakeFile):
                    raise AssertionError(f"option {name}: an attachment option takes a FakeFile")
                # The client uploads the file first; the option's value is the attachment's id.
                attachment = self.cdn.attachment("ephemeral", value)
                value = attachment["id"]
                resolved.setdefault("attachments", {})[value] = attachment
            elif kind in (USER, CHANNEL, ROLE):
                value = str(getattr(value, "id", value))
                if kind == USER:
                    user = self.world.users[int(value)]
                    resolved.setdefault("users", {})[value] = user_payload(user)
                    if guild is not None and user.id in guild.members:
                        member = member_payload(guild, user, with_user=False)
                        resolved.setdefault("members", {})[value] = member
                elif kind == CHANNEL:
                    target = self.world.channels[int(value)]
                    offered = option.get("channel_types")
                    if offered and target.type not in offered:
                        raise AssertionError(f"option {name}: the client offers only channel types {offered}")
                    payload = {**channel_payload(self.world, target), "permissions": "0"}
                    resolved.setdefault("channels", {})[value] = payload
                elif guild is not None:
                    resolved.setdefault("roles", {})[value] = role_payload(guild.roles[int(value)])
                else:
                    raise AssertionError(f"option {name}: role options need a guild channel")
            else:
                self._check_scalar(option, value)
            typed.append({"name": name, "type": kind, "value": value})
        return typed, resolved

    def _check_scalar(self, option: dict[str, Any], value: Any) -> None:
        """Reject values the Discord client would not let a user submit."""
        kind, name = option["type"], option["name"]
        expected = {STRING: (str,), INTEGER: (int,), BOOLEAN: (bool,), NUMBER: (int, float)}.get(kind)
        if expected is None:
            raise AssertionError(f"option {name}: type {kind} is not supported by the fake")
        if not isinstance(value, expected) or (kind != BOOLEAN and isinstance(value, bool)):
            raise AssertionError(f"option {name}: {value!r} is not valid for option type {kind}")
        choices = [c["value"] for c in option.get("choices") or []]
        if choices and value not in choices:
            raise AssertionError(f"option {name}: {value!r} is not one of the choices {choices}")
        size: Any = len(value) if isinstance(value, str) else value
        low = option.get("min_length" if kind == STRING else "min_value")
        high = option.get("max_length" if kind == STRING else "max_value")
        if (low is not None and size < low) or (high is not None and size > high):
            raise AssertionError(f"option {name}: {value!r} is outside [{low}, {high}]")

    def _new(
        self, kind: int, channel: FakeChannel, author: FakeUser, data: dict[str, Any]
    ) -> FakeInteraction:
        """Build the INTERACTION_CREATE payload every interaction type shares and register it."""
        interaction_id = self.world.next_id()
        token = f"fake-interaction-{interaction_id}-{uuid.uuid4().hex}"
        bot = self.world.bot_user
        guild = self.world.guilds.get(channel.guild_id or 0)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(bot.id),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT_BYTES,
            "channel_id": str(channel.id),
            "channel": channel_payload(self.world, channel),
            "app_permissions": str(self.world.permissions_for(channel, bot.id)),
            "context": 0 if guild is not None else 1,
            "authorizing_integration_owners": {"0": str(guild.id)} if guild else {"1": str(author.id)},
        }
        if guild is not None:
            member = member_payload(guild, author)
            member["permissions"] = str(self.world.permissions_for(channel, author.id))
            payload.update(guild_id=str(guild.id), guild_locale="en-US", member=member)
            payload["guild"] = {"id": str(guild.id), "locale": "en-US", "features": []}
        else:
            payload["user"] = user_payload(author)
        interaction = FakeInteraction(
            interaction_id, token, kind, channel.id, channel.guild_id, author, payload
        )
        self.by_id[interaction_id] = interaction
        self.by_token[token] = interaction
        return interaction
