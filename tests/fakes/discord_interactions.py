"""Answering interactions in the fake Discord: callbacks, followups and @original, with Discord's rules."""

from __future__ import annotations

import asyncio
from typing import Any

from .discord_apps import MODAL_SUBMIT, check_followup_allowed
from .discord_interaction_build import (
    APPLICATION_COMMAND,
    MESSAGE_COMPONENT,
    FakeInteraction,
    InteractionBuilder,
)
from .discord_messages import (
    ApiError,
    compute_pinged,
    delete_message,
    edit_message,
    empty_message,
    form_error,
    is_empty,
    store_message,
    unknown_message,
    validate_body,
)
from .discord_payloads import user_payload, wire
from .discord_rest import Call, Reply, Rest
from .discord_world import FLAG_EPHEMERAL, FLAG_LOADING, MESSAGE_CHAT_INPUT_COMMAND, World

MESSAGE_WITH_SOURCE, DEFERRED_WITH_SOURCE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL = 4, 5, 6, 7, 9
ALLOWED_CALLBACKS = {APPLICATION_COMMAND: {4, 5, 9}, MESSAGE_COMPONENT: {4, 5, 6, 7, 9}, MODAL_SUBMIT: {4, 5}}
INTERACTION_DEFAULT_PARSE = ("users",)  # interactions and webhooks ping only users by default


def _truthy(value: str | None) -> bool:
    """Parse a boolean query parameter the way Discord does."""
    return (value or "").lower() in ("1", "true")


class Interactions:
    """Serve the interaction callback and webhook routes for interactions the builder registered."""

    def __init__(
        self,
        world: World,
        rest: Rest,
        builder: InteractionBuilder,
        *,
        deadline_seconds: float,
        token_seconds: float,
    ) -> None:
        self.world = world
        self.rest = rest
        self.deadline_seconds = deadline_seconds
        self.token_seconds = token_seconds
        self.by_id = builder.by_id
        self.by_token = builder.by_token
        hook = r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)"
        rest.route("POST", r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback", self.callback, auth=False)
        rest.route("POST", hook, self.create_followup, auth=False)
        for method, handler in (("GET", self.get_message), ("PATCH", self.edit), ("DELETE", self.delete)):
            rest.route(method, hook + r"/messages/(?P<mid>@original|\d+)", handler, auth=False)

    async def callback(self, call: Call) -> Reply:
        """Accept the initial response within the deadline, exactly once."""
        interaction = self.by_id.get(call.id("iid"))
        if interaction is None or interaction.token != call.match["token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        body = call.body or {}
        interaction.callbacks.append(body)
        if interaction.response_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if asyncio.get_running_loop().time() - interaction.dispatched_at > self.deadline_seconds:
            raise ApiError(404, 10062, "Unknown interaction")
        kind, data = body.get("type"), body.get("data") or {}
        if kind not in ALLOWED_CALLBACKS.get(interaction.type, set()):
            allowed = sorted(ALLOWED_CALLBACKS.get(interaction.type, set()))
            raise form_error(("type",), "BASE_TYPE_CHOICES", f"Value must be one of {allowed}.")
        ephemeral = bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL)
        message: dict[str, Any] | None = None
        if kind == MESSAGE_WITH_SOURCE:
            message = await self._post(interaction, data, call.files, ephemeral=ephemeral, loading=False)
        elif kind == DEFERRED_WITH_SOURCE:
            message = await self._post(interaction, {}, [], ephemeral=ephemeral, loading=True)
        elif kind in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            message = self.world.messages.get(int(interaction.payload["message"]["id"]))
            if message is None:
                raise unknown_message()
            if kind == UPDATE_MESSAGE:
                await self._edit(message, data, call.files)
            interaction.response_message = message
        interaction.response_type = kind
        interaction.deferred = kind in (DEFERRED_WITH_SOURCE, DEFERRED_UPDATE)
        interaction.ephemeral = interaction.ephemeral or ephemeral
        if not _truthy(call.query.get("with_response")):
            return 204, None
        summary: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            summary.update(
                response_message_id=message["id"],
                response_message_loading=kind == DEFERRED_WITH_SOURCE,
                response_message_ephemeral=bool(message["flags"] & FLAG_EPHEMERAL),
            )
            resource["message"] = wire(self.world, message)
        return 200, {"interaction": summary, "resource": resource}

    async def _post(
        self,
        interaction: FakeInteraction,
        data: dict[str, Any],
        files: list[dict[str, Any]],
        *,
        ephemeral: bool,
        loading: bool,
    ) -> dict[str, Any]:
        """Create a response or followup message; only non-ephemeral ones reach the channel."""
        if not loading:
            validate_body(data, ("data",) if interaction.response_type is None else ())
            if is_empty({**data, "attachments": files}):
                raise empty_message()
        channel = self.world.channels[interaction.channel_id]
        bot = self.world.bot_user
        metadata: dict[str, Any] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": user_payload(interaction.author),
            "authorizing_integration_owners": interaction.payload["authorizing_integration_owners"],
        }
        if interaction.response_message is not None:
            metadata["original_response_message_id"] = interaction.response_message["id"]
        flags = int(data.get("flags") or 0) & ~FLAG_EPHEMERAL
        flags |= (FLAG_EPHEMERAL if ephemeral else 0) | (FLAG_LOADING if loading else 0)
        extra = {
            "type": MESSAGE_CHAT_INPUT_COMMAND,
            "webhook_id": str(bot.id),
            "application_id": str(bot.id),
            "interaction_metadata": metadata,
            "flags": flags,
        }
        allowed = data.get("allowed_mentions")
        content = data.get("content") or ""
        pinged = compute_pinged(
            self.world, channel, bot, content, allowed, default_parse=INTERACTION_DEFAULT_PARSE
        )
        if not ephemeral:
            await self.rest.touch_thread(channel)
        message = store_message(
            self.world, channel, bot, data, pinged=pinged, files=files, in_channel=not ephemeral, extra=extra
        )
        if interaction.response_message is None:
            interaction.response_message = message
        if not ephemeral:
            await self.rest.gateway.dispatch_message("MESSAGE_CREATE", message)
        return message

    async def _edit(self, message: dict[str, Any], body: dict[str, Any], files: list[dict[str, Any]]) -> None:
        """Edit an interaction message; the first edit of a "thinking" message fills it, not an edit."""
        validate_body(body)
        filling = bool(message["flags"] & FLAG_LOADING)
        ephemeral = message["flags"] & FLAG_EPHEMERAL
        edit_message(self.world, message, body, files=files, default_parse=INTERACTION_DEFAULT_PARSE)
        # An edit can neither change ephemerality nor bring back the "thinking" state.
        message["flags"] = (message["flags"] & ~(FLAG_EPHEMERAL | FLAG_LOADING)) | ephemeral
        if filling:
            message["edited_timestamp"] = None
            message["edits"].pop()
        if not message["flags"] & FLAG_EPHEMERAL:
            await self.rest.gateway.dispatch_message("MESSAGE_UPDATE", message)

    def _by_webhook(self, call: Call) -> FakeInteraction:
        """Resolve /webhooks/{app}/{token}: 10015 if unknown or not yet answered, 50027 once expired."""
        interaction = self.by_token.get(call.match["token"])
        if (
            call.id("app") != self.world.bot_user.id
            or interaction is None
            or interaction.response_type is None
        ):
            raise ApiError(404, 10015, "Unknown Webhook")
        if asyncio.get_running_loop().time() - interaction.dispatched_at > self.token_seconds:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return interaction

    def _target(self, interaction: FakeInteraction, message_id: str) -> dict[str, Any]:
        """Return @original or one of this interaction's followups, else 10008."""
        if message_id == "@original":
            message = interaction.response_message
        else:
            known = [interaction.response_message, *interaction.followups]
            message = next((m for m in known if m is not None and m["id"] == message_id), None)
        if message is None:
            raise unknown_message()
        return message

    async def create_followup(self, call: Call) -> Reply:
        """Send a followup; after a "thinking" defer the first one becomes the original response."""
        interaction = self._by_webhook(call)
        check_followup_allowed(interaction)
        body = call.body or {}
        loading = interaction.response_message
        if loading is not None and loading["flags"] & FLAG_LOADING:
            await self._edit(loading, body, call.files)
            message = loading
        else:
            ephemeral = bool(int(body.get("flags") or 0) & FLAG_EPHEMERAL)
            message = await self._post(interaction, body, call.files, ephemeral=ephemeral, loading=False)
            interaction.ephemeral = interaction.ephemeral or ephemeral
        interaction.followups.append(message)
        return (200, wire(self.world, message)) if _truthy(call.query.get("wait")) else (204, None)

    async def get_message(self, call: Call) -> Reply:
        """Return @original or a followup."""
        return 200, wire(self.world, self._target(self._by_webhook(call), call.match["mid"]))

    async def edit(self, call: Call) -> Reply:
        """Edit @original or a followup (filling a "thinking" original is not counted as an edit)."""
        message = self._target(self._by_webhook(call), call.match["mid"])
        await self._edit(message, call.body or {}, call.files)
        return 200, wire(self.world, message)

    async def delete(self, call: Call) -> Reply:
        """Delete @original or a followup."""
        interaction = self._by_webhook(call)
        message = self._target(interaction, call.match["mid"])
        delete_message(self.world, message)
        if not message["flags"] & FLAG_EPHEMERAL:
            await self.rest.gateway.dispatch_message_delete(message)
        return 204, None
