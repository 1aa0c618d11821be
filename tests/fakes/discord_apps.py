"""Apps in the fake Discord: message commands, modals, and interactions from user installs.

- A **message command** ("Apps" on a message's menu) is INTERACTION_CREATE type 2 with `data.type`
  3, `target_id` and the target in `data.resolved.messages`, its content included whether or not
  the app has the Message Content intent.
- A **modal** is the callback type 9 (within the usual 3 s); submitting it is a new interaction,
  type 5, with `data.custom_id` and the text inputs' values in `data.components`.
- A **user install** lets a member run the app's global commands where the bot is not: a server
  without it (context 0, a partial channel, no bot permissions), a group DM (context 2), or the bot's
  DM (context 1). `authorizing_integration_owners` then holds only `{"1": user_id}`, and Discord
  allows such an interaction at most five followups (error 40094 after that).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from .discord_interaction_build import APPLICATION_COMMAND, FakeInteraction, InteractionBuilder
from .discord_messages import ApiError
from .discord_payloads import user_payload, wire
from .discord_world import (
    ATTACH_FILES,
    DEFAULT_MEMBER_PERMISSIONS,
    DM_CHANNEL,
    EMBED_LINKS,
    USE_EXTERNAL_EMOJIS,
    FakeChannel,
    FakeGuild,
    FakeUser,
    World,
)

MODAL_SUBMIT = 5
MESSAGE_COMMAND = 3  # the application command type of a message command
TEXT_INPUT = 4
GROUP_DM = 3  # channel type
GUILD_INSTALL, USER_INSTALL = "0", "1"
CONTEXT_GUILD, CONTEXT_BOT_DM, CONTEXT_PRIVATE_CHANNEL = 0, 1, 2
# What an app may do where only a user install brought it: answer, with embeds and files.
USER_INSTALL_APP_PERMISSIONS = EMBED_LINKS | ATTACH_FILES | USE_EXTERNAL_EMOJIS
USER_INSTALL_FOLLOWUP_LIMIT = 5
MAX_FOLLOWUPS = 40094

Dispatch = Callable[[FakeInteraction], Awaitable[None]]


def user_install_only(interaction: FakeInteraction) -> bool:
    """Tell whether only the member's user install authorized this interaction."""
    return set(interaction.payload["authorizing_integration_owners"]) == {USER_INSTALL}


def check_followup_allowed(interaction: FakeInteraction) -> None:
    """Refuse a sixth followup to a user-install-only interaction, as Discord does."""
    if user_install_only(interaction) and len(interaction.followups) >= USER_INSTALL_FOLLOWUP_LIMIT:
        raise ApiError(
            400, MAX_FOLLOWUPS, "This interaction has hit the maximum number of follow up messages"
        )


class Apps:
    """Builds and dispatches message commands, modal submits and user-install interactions."""

    def __init__(self, world: World, builder: InteractionBuilder, dispatch: Dispatch) -> None:
        self.world = world
        self.builder = builder
        self._dispatch = dispatch

    # -- places the bot is not in ----------------------------------------------------------------

    def add_foreign_guild(self, name: str, members: list[FakeUser]) -> tuple[FakeGuild, FakeChannel]:
        """Add a server without the bot (no gateway event reaches it), its #general and `members`."""
        guild = self.world.add_guild(name, 0)
        bot_role = next(role for role in guild.roles.values() if role.bot_id is not None)
        del guild.roles[bot_role.id]
        del guild.members[self.world.bot_user.id]
        for user in members:
            self.world.add_member(guild, user, DEFAULT_MEMBER_PERMISSIONS)
        channel = self.world.add_channel(FakeChannel(self.world.next_id(), guild.id, "general"))
        return guild, channel

    def add_group_dm(self, owner: FakeUser, others: list[FakeUser]) -> FakeChannel:
        """Add a group DM between people (not the bot)."""
        channel = FakeChannel(self.world.next_id(), None, "friends", GROUP_DM, owner_id=owner.id)
        channel.member_ids = {owner.id, *(user.id for user in others)}
        return self.world.add_channel(channel)

    # -- interactions ------------------------------------------------------------------------------

    async def message_command(
        self, name: str, message: dict[str, Any], *, author: FakeUser, user_install: bool = False
    ) -> FakeInteraction:
        """Run a message command on `message` (from the server's install, or the member's own)."""
        channel = self.world.channels[int(message["channel_id"])]
        command = self._command(name, MESSAGE_COMMAND, channel, user_install)
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": MESSAGE_COMMAND,
            "target_id": message["id"],
            # The target's content comes with the interaction, intent or not.
            "resolved": {"messages": {message["id"]: wire(self.world, message)}},
        }
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        interaction = self.builder._new(APPLICATION_COMMAND, channel, author, data)
        if user_install:
            self._as_user_install(interaction, channel)
        await self._dispatch(interaction)
        return interaction

    async def slash(
        self, name: str, options: dict[str, Any], *, channel: FakeChannel, author: FakeUser
    ) -> FakeInteraction:
        """Run a global slash command through the member's user install."""
        self._command(name, 1, channel, user_install=True)
        interaction = self.builder.build_slash(name, options, channel, author, None)
        self._as_user_install(interaction, channel)
        await self._dispatch(interaction)
        return interaction

    async def submit_modal(self, shown: FakeInteraction, values: dict[str, str]) -> FakeInteraction:
        """Fill in and submit the modal the bot showed for `shown` (values by text input label)."""
        modals = [body["data"] for body in shown.callbacks if body.get("type") == 9]
        if shown.response_type != 9 or not modals:
            raise AssertionError("the bot showed no modal for this interaction")
        modal = modals[-1]
        rows = []
        for row in modal["components"]:
            [field] = row["components"]
            if field["type"] != TEXT_INPUT:
                raise AssertionError(f"the fake only fills text inputs, not type {field['type']}")
            value = values.get(field["label"], "")
            low, high = field.get("min_length", 0), field.get("max_length", 4000)
            if (not value and field.get("required", True)) or (value and not low <= len(value) <= high):
                raise AssertionError(f"Discord would not submit {value!r} for {field['label']!r}")
            submitted = {"type": TEXT_INPUT, "custom_id": field["custom_id"], "value": value}
            rows.append({"type": 1, "components": [submitted]})
        interaction = self._clone(shown, MODAL_SUBMIT, {"custom_id": modal["custom_id"], "components": rows})
        await self._dispatch(interaction)
        return interaction

    # -- helpers -----------------------------------------------------------------------------------

    def _command(self, name: str, kind: int, channel: FakeChannel, user_install: bool) -> dict[str, Any]:
        """Return the synced command Discord would offer here, or fail like the client would."""
        scopes = [None] if user_install else [channel.guild_id, None]
        found = [self.world.commands.get(scope, {}).get(name) for scope in scopes]
        command = next((c for c in found if c is not None and c.get("type", 1) == kind), None)
        if command is None:
            where = "globally" if user_install else "here"
            raise AssertionError(f"{name!r} (type {kind}) is not synced {where}")
        installs = [str(i) for i in command.get("integration_types") or [0]]
        if (USER_INSTALL if user_install else GUILD_INSTALL) not in installs:
            raise AssertionError(f"{name!r} does not allow this install type (integration_types {installs})")
        context = self._context(channel, user_install)
        if context not in (command.get("contexts") or [0, 1, 2]):
            raise AssertionError(f"{name!r} is not available in interaction context {context}")
        return command

    def _context(self, channel: FakeChannel, user_install: bool) -> int:
        """Return the interaction context of a channel."""
        if channel.guild_id is not None:
            return CONTEXT_GUILD
        if channel.type == DM_CHANNEL:
            return CONTEXT_BOT_DM
        return CONTEXT_PRIVATE_CHANNEL

    def _as_user_install(self, interaction: FakeInteraction, channel: FakeChannel) -> None:
        """Make the payload what Discord sends when only the member's user install is in play."""
        payload = interaction.payload
        payload["context"] = self._context(channel, True)
        payload["authorizing_integration_owners"] = {USER_INSTALL: str(interaction.author.id)}
        guild = self.world.guilds.get(channel.guild_id or 0)
        if guild is not None and self.world.bot_user.id not in guild.members:
            payload["app_permissions"] = str(USER_INSTALL_APP_PERMISSIONS)
            payload["channel"] = {k: v for k, v in payload["channel"].items() if k != "permission_overwrites"}
            payload["channel"]["permissions"] = payload["member"]["permissions"]
        elif channel.type == GROUP_DM:
            payload["app_permissions"] = str(USER_INSTALL_APP_PERMISSIONS)
            payload["channel"] = {
                "id": str(channel.id),
                "type": GROUP_DM,
                "name": channel.name,
                "owner_id": str(channel.owner_id),
                "recipients": [user_payload(self.world.users[i]) for i in sorted(channel.member_ids)],
                "flags": 0,
            }

    def _clone(self, original: FakeInteraction, kind: int, data: dict[str, Any]) -> FakeInteraction:
        """Return a new interaction from the same place and member (a modal submit)."""
        interaction_id = self.world.next_id()
        token = f"fake-interaction-{interaction_id}-{uuid.uuid4().hex}"
        payload = {**original.payload, "id": str(interaction_id), "token": token, "type": kind, "data": data}
        interaction = FakeInteraction(
            interaction_id, token, kind, original.channel_id, original.guild_id, original.author, payload
        )
        self.builder.by_id[interaction_id] = interaction
        self.builder.by_token[token] = interaction
        return interaction
