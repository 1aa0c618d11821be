"""Tests of the wire-level fake Discord, driving a real minimal discord.py bot through each feature."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import (
    MANAGE_GUILD,
    PUBLIC_THREAD,
    SEND_MESSAGES,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeUser,
)

READY_TIMEOUT_SECONDS = 5.0
LONG_REPLY_CHARS = 2500
T = TypeVar("T")


class Inbox(Generic[T]):
    """Things the bot saw, with an awaitable arrival signal (no sleeping)."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self._arrived = asyncio.Event()

    def add(self, item: T) -> None:
        """Record an item and wake waiters."""
        self.items.append(item)
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    async def wait(self, predicate: Callable[[T], bool] = lambda _: True, timeout: float = 5.0) -> T:
        """Return the first recorded item matching `predicate`, waiting for it if needed."""
        async with asyncio.timeout(timeout):
            while True:
                for item in self.items:
                    if predicate(item):
                        return item
                await self._arrived.wait()


class EchoBot(commands.Bot):
    """A minimal bot: replies to mentions, answers /ask with defer + followup."""

    def __init__(
        self,
        *,
        message_content: bool = True,
        members: bool = False,
        sync_guild: int | None = None,
        extra: list[app_commands.Command[Any, ..., Any]] | None = None,
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        intents.members = members
        super().__init__(
            command_prefix="!",
            intents=intents,
            guild_ready_timeout=0.05,
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.sync_guild = sync_guild
        self.ready = asyncio.Event()
        self.seen: Inbox[discord.Message] = Inbox()
        self.errors: Inbox[Exception] = Inbox()
        self.threads_created: Inbox[discord.Thread] = Inbox()
        self.tree.add_command(self._ask_command())
        for command in extra or []:
            self.tree.add_command(command)

    def _ask_command(self) -> app_commands.Command[Any, ..., Any]:
        """Build /ask: defer (thinking) then answer with a followup."""

        @app_commands.command(name="ask", description="Ask a question")
        async def ask(interaction: discord.Interaction, question: str, private: bool = False) -> None:
            await interaction.response.defer(thinking=True, ephemeral=private)
            await interaction.followup.send(f"answer: {question}", ephemeral=private)

        return ask

    async def setup_hook(self) -> None:
        """Sync commands globally, or to one guild when asked."""
        if self.sync_guild is None:
            await self.tree.sync()
        else:
            guild = discord.Object(self.sync_guild)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)

    async def on_ready(self) -> None:
        """Signal readiness to the test."""
        self.ready.set()

    async def on_thread_create(self, thread: discord.Thread) -> None:
        """Record THREAD_CREATE arrivals."""
        self.threads_created.add(thread)

    async def on_message(self, message: discord.Message) -> None:
        """Record every message; reply to mentions (a huge reply when asked for "long")."""
        self.seen.add(message)
        if message.author.bot or self.user is None or not self.user.mentioned_in(message):
            return
        text = "x" * LONG_REPLY_CHARS if "long" in message.content else f"pong: {message.content}"
        try:
            await message.reply(text)
        except discord.HTTPException as exc:
            self.errors.add(exc)


@dataclass
class Scene:
    """A guild with one text channel and one person."""

    guild: FakeGuild
    channel: FakeChannel
    alice: FakeUser


@contextlib.asynccontextmanager
async def running(bot: commands.Bot, fake: FakeDiscord) -> AsyncIterator[EchoBot]:
    """Start the bot against the fake, wait for on_ready, and always close and await it (trap 3)."""
    assert isinstance(bot, EchoBot)
    task = asyncio.create_task(bot.start(fake.token))
    ready = asyncio.create_task(bot.ready.wait())
    done, _ = await asyncio.wait({task, ready}, timeout=READY_TIMEOUT_SECONDS, return_when="FIRST_COMPLETED")
    try:
        if task in done:
            task.result()  # surfaces the crash
        assert ready in done, "the bot never became ready"
        yield bot
    finally:
        ready.cancel()
        await bot.close()
        await task


FakeFactory = Callable[..., Awaitable[FakeDiscord]]


@pytest.fixture
async def make_fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeFactory]:
    """Create started, patched fakes with chosen settings; close them at teardown."""
    created: list[FakeDiscord] = []

    async def factory(**kwargs: Any) -> FakeDiscord:
        fake = FakeDiscord(**kwargs)
        await fake.start()
        fake.patch(monkeypatch)
        created.append(fake)
        return fake

    yield factory
    for fake in created:
        await fake.close()
        assert fake.internal_errors == []


@pytest.fixture
async def fake(make_fake: FakeFactory) -> FakeDiscord:
    """A fake with default settings."""
    return await make_fake()


@pytest.fixture
def scene(fake: FakeDiscord) -> Scene:
    """Populate the default fake with a guild, a channel and a person."""
    guild = fake.add_guild("Guild")
    return Scene(guild, fake.add_text_channel(guild, "general"), fake.add_member(guild, "alice"))


def mention(user: FakeUser) -> str:
    """Return the raw mention markup for a user."""
    return f"<@{user.id}>"


async def test_login_ready_and_guild_cache(fake: FakeDiscord, scene: Scene) -> None:
    async with running(EchoBot(members=True), fake) as bot:
        guild = bot.get_guild(scene.guild.id)
        assert guild is not None and guild.name == "Guild"
        assert isinstance(guild.get_channel(scene.channel.id), discord.TextChannel)
        assert guild.me is not None and guild.get_member(scene.alice.id) is not None
        assert guild.member_count == len(guild.members)  # no chunking (trap 4)
        assert bot.user is not None and bot.user.id == fake.bot_user.id == bot.application_id
        assert fake.identify_payloads[0]["intents"] == bot.intents.value
        assert [(r.method, r.path) for r in fake.requests[:3]] == [
            ("GET", "/users/@me"),
            ("GET", "/oauth2/applications/@me"),
            ("PUT", f"/applications/{fake.bot_user.id}/commands"),
        ]
        late = fake.add_text_channel(scene.guild, "late")
        await fake.caught_up()
        assert bot.get_channel(late.id) is not None  # CHANNEL_CREATE after connect
    assert fake.unknown_routes == []


async def test_wrong_token_is_a_login_failure(fake: FakeDiscord) -> None:
    bot = EchoBot()
    with pytest.raises(discord.LoginFailure):
        await bot.start("not-the-token")
    await bot.close()
    assert fake.requests[0].status == 401


async def test_mention_is_computed_reply_is_echoed_and_pings_nobody(fake: FakeDiscord, scene: Scene) -> None:
    async with running(EchoBot(), fake) as bot:
        sent = await fake.user_says(scene.channel, scene.alice, f"{mention(fake.bot_user)} hi")
        assert [m["id"] for m in sent["mentions"]] == [str(fake.bot_user.id)]
        seen = await bot.seen.wait(lambda m: m.author.id == scene.alice.id)
        assert bot.user is not None and bot.user.mentioned_in(seen)
        echo = await bot.seen.wait(lambda m: m.author == bot.user)  # Discord echoes the bot's own message
        assert echo.reference is not None and echo.reference.message_id == int(sent["id"])
        reply = fake.bot_messages(scene.channel)[0]
        assert reply["content"] == f"pong: {mention(fake.bot_user)} hi"
        assert reply["allowed_mentions"] == {"parse": []}  # what AllowedMentions.none() sends
        assert reply["pinged"] == []
        other = await fake.user_says(scene.channel, scene.alice, f"hey {mention(scene.alice)}")
        seen_other = await bot.seen.wait(lambda m: m.id == int(other["id"]))
        assert not bot.user.mentioned_in(seen_other) and seen_other.mentions[0].id == scene.alice.id


async def test_reply_over_2000_chars_is_rejected_with_50035(fake: FakeDiscord, scene: Scene) -> None:
    async with running(EchoBot(), fake) as bot:
        await fake.user_says(scene.channel, scene.alice, f"{mention(fake.bot_user)} long please")
        error = await bot.errors.wait()
        assert isinstance(error, discord.HTTPException) and error.code == 50035
        assert "2000 or fewer" in str(error)
        assert fake.bot_messages(scene.channel) == []


async def test_content_is_blanked_without_the_intent_unless_exempt(fake: FakeDiscord, scene: Scene) -> None:
    async with running(EchoBot(message_content=False), fake) as bot:
        plain = await fake.user_says(scene.channel, scene.alice, "secret words")
        assert (await bot.seen.wait(lambda m: m.id == int(plain["id"]))).content == ""
        pinged = await fake.user_says(scene.channel, scene.alice, f"{mention(fake.bot_user)} visible")
        assert (await bot.seen.wait(lambda m: m.id == int(pinged["id"]))).content.endswith("visible")
        bot_reply = await bot.seen.wait(lambda m: m.author == bot.user)
        assert bot_reply.content.startswith("pong")  # its own messages always keep content
        ping_on = await fake.user_says(scene.channel, scene.alice, "reply ping", reply_to=bot_reply.id)
        ping_off = await fake.user_says(
            scene.channel, scene.alice, "reply quiet", reply_to=bot_reply.id, ping_reply=False
        )
        assert (await bot.seen.wait(lambda m: m.id == int(ping_on["id"]))).content == "reply ping"
        assert (await bot.seen.wait(lambda m: m.id == int(ping_off["id"]))).content == ""
        direct = await fake.user_says(fake.dm_channel(scene.alice), scene.alice, "in a DM")
        assert (await bot.seen.wait(lambda m: m.id == int(direct["id"]))).content == "in a DM"


async def test_privileged_intent_disabled_in_portal_closes_4014(make_fake: FakeFactory) -> None:
    fake = await make_fake(message_content_enabled=False)
    bot = EchoBot(message_content=True)
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await asyncio.wait_for(bot.start(fake.token), READY_TIMEOUT_SECONDS)
    await bot.close()


async def test_slash_defer_then_followup_fills_the_original(fake: FakeDiscord, scene: Scene) -> None:
    async with running(EchoBot(), fake):
        public = await fake.slash("ask", {"question": "why"}, channel=scene.channel, author=scene.alice)
        await fake.wait_for(lambda: public.original is not None)
        assert public.deferred and not public.ephemeral
        assert public.original is not None and public.original["content"] == "answer: why"
        assert public.messages() == [public.original] == public.followups
        assert fake.bot_messages(scene.channel) == [public.original]
        private = await fake.slash(
            "ask", {"question": "psst", "private": True}, channel=scene.channel, author=scene.alice
        )
        await fake.wait_for(lambda: private.original is not None)
        assert private.ephemeral and private.original is not None
        assert private.original["flags"] & 64
        assert fake.bot_messages(scene.channel) == [public.original]  # ephemeral is not in the channel


async def test_guild_synced_command_carries_guild_id(fake: FakeDiscord, scene: Scene) -> None:
    async with running(EchoBot(sync_guild=scene.guild.id), fake):
        interaction = await fake.slash("ask", {"question": "g"}, channel=scene.channel, author=scene.alice)
        assert interaction.payload["data"]["guild_id"] == str(scene.guild.id)
        await fake.wait_for(lambda: interaction.original is not None)


async def test_unsynced_or_hidden_commands_cannot_be_invoked(fake: FakeDiscord, scene: Scene) -> None:
    @app_commands.command(name="admin", description="Admins only")
    @app_commands.default_permissions(manage_guild=True)
    async def admin(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok")

    async with running(EchoBot(extra=[admin]), fake):
        with pytest.raises(AssertionError, match="never synced"):
            await fake.slash("nope", channel=scene.channel, author=scene.alice)
        with pytest.raises(AssertionError, match="missing required"):
            await fake.slash("ask", {}, channel=scene.channel, author=scene.alice)
        with pytest.raises(AssertionError, match="hidden"):
            await fake.slash("admin", channel=scene.channel, author=scene.alice)
        boss = fake.add_member(scene.guild, "boss", permissions=MANAGE_GUILD | (1 << 31) | (1 << 10))
        interaction = await fake.slash("admin", channel=scene.channel, author=boss)
        await fake.wait_for(lambda: interaction.original is not None)


async def test_callback_after_the_deadline_is_unknown_interaction(make_fake: FakeFactory) -> None:
    fake = await make_fake(interaction_deadline_seconds=0.2)
    guild = fake.add_guild()
    channel, alice = fake.add_text_channel(guild), fake.add_member(guild, "alice")
    outcome: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()

    @app_commands.command(name="slow", description="Answers too late")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.3)  # stands in for a model call made before deferring
        try:
            await interaction.response.send_message("late")
        except discord.HTTPException as exc:
            outcome.set_result(exc)

    async with running(EchoBot(extra=[slow]), fake):
        await fake.slash("slow", channel=channel, author=alice)
        error = await asyncio.wait_for(outcome, 5)
        assert isinstance(error, discord.NotFound) and error.code == 10062


async def test_second_acknowledgement_is_rejected_with_40060(fake: FakeDiscord, scene: Scene) -> None:
    outcome: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()

    @app_commands.command(name="twice", description="Answers twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("one")
        interaction.response._response_type = None  # bypass discord.py's own guard to reach the wire
        try:
            await interaction.response.send_message("two")
        except discord.HTTPException as exc:
            outcome.set_result(exc)

    async with running(EchoBot(extra=[twice]), fake):
        interaction = await fake.slash("twice", channel=scene.channel, author=scene.alice)
        error = await asyncio.wait_for(outcome, 5)
        assert error.code == 40060  # type: ignore[attr-defined]
        assert len(interaction.callbacks) == 2 and interaction.original is not None
        assert interaction.original["content"] == "one"


async def test_threads_by_both_routes_reach_the_cache(fake: FakeDiscord, scene: Scene) -> None:
    async with running(EchoBot(), fake) as bot:
        text = bot.get_channel(scene.channel.id)
        assert isinstance(text, discord.TextChannel)
        starter = await text.send("starter")
        from_message = await starter.create_thread(name="from message")
        assert from_message.id == starter.id
        cached = await bot.threads_created.wait(lambda t: t.id == starter.id)
        assert bot.get_channel(starter.id) is cached and isinstance(cached, discord.Thread)
        with pytest.raises(discord.HTTPException) as taken:
            await starter.create_thread(name="again")
        assert taken.value.code == 160004
        standalone = await text.create_thread(name="standalone", type=discord.ChannelType.public_thread)
        assert (await bot.threads_created.wait(lambda t: t.id == standalone.id)).parent_id == text.id
        assert fake.channel(standalone.id).type == PUBLIC_THREAD
        with pytest.raises(discord.Forbidden):  # no type means private; the bot lacks that permission
            await text.create_thread(name="private")
        with pytest.raises(discord.HTTPException) as bad_name:
            await text.create_thread(name="n" * 101, type=discord.ChannelType.public_thread)
        assert bad_name.value.code == 50035
        await from_message.send("inside")
        assert fake.channel(starter.id).message_count == 1


async def test_a_restarted_bot_sees_active_threads_but_not_archived_ones(
    fake: FakeDiscord, scene: Scene
) -> None:
    async with running(EchoBot(), fake) as bot:
        text = bot.get_channel(scene.channel.id)
        assert isinstance(text, discord.TextChannel)
        active = await text.create_thread(name="active", type=discord.ChannelType.public_thread)
        archived = await text.create_thread(name="archived", type=discord.ChannelType.public_thread)
        await fake.archive_thread(archived.id)
    async with running(EchoBot(), fake) as again:
        guild = again.get_guild(scene.guild.id)
        assert guild is not None and [t.id for t in guild.threads] == [active.id]
        posted = await fake.user_says(archived.id, scene.alice, f"{mention(fake.bot_user)} wake up")
        assert not fake.channel(archived.id).archived  # posting unarchives (THREAD_UPDATE)
        seen = await again.seen.wait(lambda m: m.id == int(posted["id"]))
        assert isinstance(seen.channel, discord.Thread)
        await fake.wait_for(lambda: len(fake.bot_messages(archived.id)) == 1)
    assert len(fake.identify_payloads) == 2


async def test_rate_limit_with_via_header_is_retried(fake: FakeDiscord, scene: Scene) -> None:
    body = {"message": "You are being rate limited.", "retry_after": 0.05, "global": False}
    fake.fail_next("POST", r"/channels/\d+/messages$", 429, body, headers={"Via": "1.1 google"})
    async with running(EchoBot(), fake) as bot:
        channel = bot.get_channel(scene.channel.id)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("after a rate limit")
        posts = [r.status for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
        assert posts == [429, 200]
        assert [m["content"] for m in fake.bot_messages(scene.channel)] == ["after a rate limit"]


async def test_missing_send_permission_is_403(fake: FakeDiscord, scene: Scene) -> None:
    muted = fake.add_text_channel(scene.guild, "read-only", bot_deny=SEND_MESSAGES)
    async with running(EchoBot(), fake) as bot:
        channel = bot.get_channel(muted.id)
        assert isinstance(channel, discord.TextChannel)
        assert not channel.permissions_for(channel.guild.me).send_messages  # discord.py agrees
        with pytest.raises(discord.Forbidden) as denied:
            await channel.send("hello")
        assert denied.value.code == 50013


async def test_resume_after_a_dropped_connection(fake: FakeDiscord, scene: Scene) -> None:
    async with running(EchoBot(), fake) as bot:
        await fake.close_gateway(4000)
        await fake.wait_for(lambda: len(fake.gateway.resume_payloads) == 1)
        sent = await fake.user_says(scene.channel, scene.alice, "still there?")
        await bot.seen.wait(lambda m: m.id == int(sent["id"]))
        assert len(fake.identify_payloads) == 1


async def test_unknown_routes_are_404_and_recorded(fake: FakeDiscord, scene: Scene) -> None:
    async with running(EchoBot(), fake) as bot:
        with pytest.raises(discord.NotFound):
            await bot.http.request(discord.http.Route("GET", "/nowhere"))
        assert fake.unknown_routes == [("GET", "/nowhere")]


async def test_streaming_edits_after_a_defer_and_followups(fake: FakeDiscord, scene: Scene) -> None:
    @app_commands.command(name="stream", description="Streams an answer")
    async def stream(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="part 1")
        await interaction.edit_original_response(content="part 1 and 2")
        await interaction.followup.send(f"{mention(scene.alice)} the rest")

    async with running(EchoBot(extra=[stream]), fake):
        interaction = await fake.slash("stream", channel=scene.channel, author=scene.alice)
        await fake.wait_for(lambda: len(interaction.followups) == 1)
        original = interaction.original
        assert original is not None and original["content"] == "part 1 and 2"
        assert [e["content"] for e in original["edits"]] == ["part 1 and 2"]  # filling "thinking" is no edit
        assert [m["content"] for m in interaction.messages()] == [
            "part 1 and 2",
            f"{mention(scene.alice)} the rest",
        ]
        assert interaction.followups[0]["pinged"] == []  # AllowedMentions.none() on the client
        assert [m["content"] for m in fake.bot_messages(scene.channel)] == [
            m["content"] for m in interaction.messages()
        ]


async def test_a_button_click_updates_its_message(fake: FakeDiscord, scene: Scene) -> None:
    class Confirm(discord.ui.View):
        @discord.ui.button(label="OK", custom_id="ok")
        async def ok(self, interaction: discord.Interaction, button: discord.ui.Button[Confirm]) -> None:
            await interaction.response.edit_message(content="confirmed", view=None)

    async with running(EchoBot(), fake) as bot:
        channel = bot.get_channel(scene.channel.id)
        assert isinstance(channel, discord.TextChannel)
        message = await channel.send("sure?", view=Confirm())
        click = await fake.click(message.id, "ok", author=scene.alice)
        await fake.wait_for(lambda: click.response_type == 7)
        assert fake.bot_messages(scene.channel)[0]["content"] == "confirmed"
        assert fake.bot_messages(scene.channel)[0]["components"] == []


async def test_empty_messages_files_typing_edits_and_dms(fake: FakeDiscord, scene: Scene) -> None:
    stranger = fake.add_user("stranger")
    async with running(EchoBot(), fake) as bot:
        channel = bot.get_channel(scene.channel.id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as empty:
            await bot.http.send_message(
                channel.id, params=discord.http.handle_message_parameters(content="  ")
            )
        assert empty.value.code == 50006
        sent = await channel.send("notes", file=discord.File(io.BytesIO(b"abc"), "notes.md"))
        assert sent.attachments[0].filename == "notes.md" and sent.attachments[0].size == 3
        await sent.edit(content=f"hi {mention(scene.alice)}")
        stored = fake.bot_messages(scene.channel)[0]
        assert stored["edits"][0]["allowed_mentions"] == {"parse": []} and stored["pinged"] == []
        async with channel.typing():
            pass
        assert fake.typing[0][0] == channel.id
        with pytest.raises(discord.Forbidden) as blocked:
            await (await bot.create_dm(discord.Object(stranger.id))).send("hi")
        assert blocked.value.code == 50007  # no shared guild
        await (await bot.create_dm(discord.Object(scene.alice.id))).send("hi alice")
        assert fake.bot_messages(fake.dm_channel(scene.alice))[0]["content"] == "hi alice"
