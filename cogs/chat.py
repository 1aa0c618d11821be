"""/chat: a conversation thread of a member's own, answered without mentions, across restarts."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from assistant.answering import Question
from assistant.delivery.replies import NO_MENTIONS, ChannelReply, MessageReply
from assistant.questions import (
    addresses_bot,
    file_ref,
    files_of,
    is_conversation_message,
    question_from,
    question_text,
)
from assistant.reporting import report_failure, report_failure_in
from assistant.threads import THREAD_AUTO_ARCHIVE_MINUTES, missing_permissions, opened_by_bot, thread_name

if TYPE_CHECKING:
    from bot import AssistantBot

log = logging.getLogger(__name__)

PROMPT_MAX_CHARS = 6000
# The prompt is quoted at the top of the thread; a very long one is shown shortened there.
PROMPT_QUOTE_MAX_CHARS = 1500
MENTION_ONLY_HINT = "I'm listening: just write your message here, no need to mention me."
MISSING_INTENT_WARNING = (
    "A message in a /chat thread arrived without its text because the Message Content intent is off: "
    "the bot cannot answer thread follow-ups without a mention. Enable 'Message Content Intent' in the "
    "Developer Portal (your application → Bot → Privileged Gateway Intents) and restart the bot."
)


class Chat(commands.Cog):
    """Open conversation threads with /chat and answer every message in them."""

    def __init__(self, bot: AssistantBot) -> None:
        self.bot = bot
        self._warned_missing_intent = False

    @app_commands.command(name="chat", description="Start a conversation with the assistant in a new thread.")
    @app_commands.describe(
        prompt="What do you want to talk about?", image="An image (or a text file) to talk about."
    )
    @app_commands.allowed_installs(guilds=True, users=False)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    async def chat(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, PROMPT_MAX_CHARS],
        image: discord.Attachment | None = None,
    ) -> None:
        """Open a thread for the prompt and answer it there."""
        refusal = self.bot.policy.command_refusal(interaction) or self.refusal(interaction)
        if refusal is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        # A spent budget is refused before anything is created (the answer re-checks atomically).
        await self.bot.quotas.ensure_available(interaction.guild_id, interaction.user.id)
        await interaction.response.defer(thinking=True)
        thread = await self.open_thread(interaction, prompt)
        await interaction.followup.send(
            f"{interaction.user.mention} started a conversation: {thread.mention}",
            allowed_mentions=NO_MENTIONS,
        )
        await thread.send(quote_prompt(interaction.user.display_name, prompt), allowed_mentions=NO_MENTIONS)
        asked = Question(
            guild_id=thread.guild.id,
            channel_id=thread.id,
            author_id=interaction.user.id,
            author_name=interaction.user.display_name,
            text=prompt.strip(),
            shared_conversation=True,
            files=(file_ref(image),) if image is not None else (),
            parent_id=thread.parent_id,
            interaction_id=interaction.id,
        )
        try:
            await self.bot.answerer.answer(asked, ChannelReply(thread))
        except Exception as exc:
            await report_failure_in(thread, exc)

    def refusal(self, interaction: discord.Interaction) -> str | None:
        """Return why /chat cannot open a thread here, or None when it can."""
        channel = interaction.channel
        if interaction.guild is None:
            return "Conversation threads live in servers: use `/chat` in a text channel of a server."
        if isinstance(channel, discord.Thread):
            if self.bot.threads.get(channel.id) is not None:
                return "This thread is already a conversation with me: just write your message here."
            return "I can't open a thread inside a thread: use `/chat` in a text channel."
        if not isinstance(channel, discord.TextChannel):
            return "I can only open conversation threads in text channels."
        missing = missing_permissions(interaction.app_permissions)
        if missing:
            names = " and ".join(f"**{name}**" for name in missing)
            return f"I can't open a thread here: I'm missing the {names} permission in this channel."
        return None

    async def open_thread(self, interaction: discord.Interaction, prompt: str) -> discord.Thread:
        """Create the public thread, record it as a conversation and add the member to it."""
        channel = interaction.channel
        assert isinstance(channel, discord.TextChannel)
        thread = await channel.create_thread(
            name=thread_name(prompt),
            type=discord.ChannelType.public_thread,
            auto_archive_duration=THREAD_AUTO_ARCHIVE_MINUTES,
            reason=f"/chat by {interaction.user}",
        )
        await self.bot.threads.add(
            thread.id, guild_id=channel.guild.id, parent_id=channel.id, starter_id=interaction.user.id
        )
        try:
            await thread.add_user(interaction.user)
        except discord.HTTPException as exc:
            log.info("Could not add the starter to thread %s: %s", thread.id, exc)
        return thread

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer any person's message in a conversation thread, mention or not."""
        if message.author.bot or not await self.is_conversation_thread(message.channel):
            return
        if not is_conversation_message(message):
            return
        try:
            if await self.bot.policy.turn_away(message):
                return
            text = question_text(message, self.bot.user_id)
            if not text and not files_of(message, self.bot.user_id):
                await self.answer_empty(message)
                return
            asked = question_from(message, text, bot_id=self.bot.user_id, shared_conversation=True)
            await self.bot.answerer.answer(asked, MessageReply(message))
        except Exception as exc:
            await report_failure(message, exc)

    async def is_conversation_thread(self, channel: object) -> bool:
        """Return whether `channel` is a bot conversation thread, this process's or another's.

        A thread the bot opened but this process has not on record was opened by another process
        (a deploy's overlapping session, another shard owner before a re-shard): read it once.
        """
        if self.bot.threads.get(getattr(channel, "id", 0)) is not None:
            return True
        if not opened_by_bot(channel, self.bot.user_id):
            return False
        assert isinstance(channel, discord.Thread)
        return await self.bot.threads.find(channel.id) is not None

    async def answer_empty(self, message: discord.Message) -> None:
        """Handle a message with no text: a bare mention gets a hint; blanked content, a warning."""
        if message.guild is not None and addresses_bot(message, message.guild.me):
            await message.reply(MENTION_ONLY_HINT, allowed_mentions=NO_MENTIONS)
        elif not self.bot.intents.message_content and not self._warned_missing_intent:
            self._warned_missing_intent = True
            log.warning(MISSING_INTENT_WARNING)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        """Forget a deleted conversation thread and its history."""
        if await self.bot.threads.remove(payload.thread_id):
            log.info("Conversation thread %s was deleted; forgot it", payload.thread_id)


def quote_prompt(author_name: str, prompt: str) -> str:
    """Return the thread's opening message: who asked, and what (shortened if very long)."""
    shown = prompt.strip()
    if len(shown) > PROMPT_QUOTE_MAX_CHARS:
        shown = shown[: PROMPT_QUOTE_MAX_CHARS - 1].rstrip() + "…"
    quoted = "\n".join(f"> {line}" if line else ">" for line in shown.splitlines())
    return f"**{author_name}** asked:\n{quoted}"


async def setup(bot: AssistantBot) -> None:
    """Load the cog."""
    await bot.add_cog(Chat(bot))
