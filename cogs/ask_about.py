"""The "Ask about this" message command: ask the model about one message, privately."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from assistant.answering import Question
from assistant.delivery.replies import InteractionReply
from assistant.questions import file_ref
from assistant.reach import reach_of, thread_parent
from assistant.reporting import report_interaction_failure

if TYPE_CHECKING:
    from bot import AssistantBot

COMMAND_NAME = "Ask about this"
QUESTION_MAX_CHARS = 1000
DEFAULT_QUESTION = "Explain this message."
# How long the pop-up waits for the member before the bot forgets it (Discord's token lasts 15 min).
MODAL_TIMEOUT_SECONDS = 15 * 60


def about_message(author: str, content: str, question: str) -> str:
    """Return the question as the model reads it: the message quoted, then what is asked about it."""
    quoted = content.strip() or "(no text)"
    return f'About this message by {author}:\n"""\n{quoted}\n"""\n{question.strip() or DEFAULT_QUESTION}'


def message_text(message: discord.Message) -> str:
    """Return a message's text, mentions as names, with the text of its embeds (link previews, bots)."""
    parts = [message.clean_content]
    for embed in message.embeds:
        parts.extend(part for part in (embed.title, embed.description) if part)
    return "\n".join(part for part in parts if part)


class AskAboutModal(discord.ui.Modal, title="Ask about this message"):
    """The pop-up that asks what the member wants to know about the message."""

    question: discord.ui.TextInput[AskAboutModal] = discord.ui.TextInput(
        label="Your question (leave empty to explain it)",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=QUESTION_MAX_CHARS,
        placeholder="What does this mean? Is it right?",
    )

    def __init__(self, cog: AskAbout, target: discord.Message) -> None:
        super().__init__(timeout=MODAL_TIMEOUT_SECONDS)
        self.cog = cog
        self.target = target

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Answer the question about the message."""
        await self.cog.answer(interaction, self.target, self.question.value)

    # Modal's own on_error takes no item; discord.py's stubs inherit View's, hence the ignore.
    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        """Tell the member what went wrong, like a failed command."""
        await report_interaction_failure(interaction, error)


class AskAbout(commands.Cog):
    """The "Ask about this" message command."""

    def __init__(self, bot: AssistantBot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(
            name=COMMAND_NAME,
            callback=self.ask_about,
            type=discord.AppCommandType.message,
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True
            ),
        )

    async def cog_load(self) -> None:
        """Add the message command to the tree."""
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        """Take the message command off the tree."""
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def ask_about(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Ask the member what they want to know about `message` (a pop-up, answered within 3 s)."""
        if (refusal := self.bot.policy.command_refusal(interaction)) is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        await interaction.response.send_modal(AskAboutModal(self, message))

    async def answer(self, interaction: discord.Interaction, target: discord.Message, asked: str) -> None:
        """Answer privately, with the message, its author's name and its attachments as the context."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        reach = reach_of(interaction, allow_dms=self.bot.settings.allow_dms)
        question = Question(
            guild_id=reach.guild_id,
            channel_id=interaction.channel_id or 0,
            author_id=interaction.user.id,
            author_name=interaction.user.display_name,
            text=about_message(target.author.display_name, message_text(target), asked),
            record=False,
            with_history=False,
            files=tuple(file_ref(attachment) for attachment in target.attachments),
            interaction_id=interaction.id,
            parent_id=thread_parent(interaction),
        )
        reply = InteractionReply(interaction, ephemeral=True, max_messages=reach.max_messages)
        await self.bot.answerer.answer(question, reply)


async def setup(bot: AssistantBot) -> None:
    """Load the cog."""
    await bot.add_cog(AskAbout(bot))
