"""Attachments, end to end: images the model sees (now and in follow-ups), text files, what is left out."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.cogs.config_helpers import config
from tests.conftest import Harness
from tests.fakes import images
from tests.fakes.completions import Reply
from tests.fakes.discord import DEFAULT_MEMBER_PERMISSIONS, MANAGE_MESSAGES
from tests.fakes.discord_cdn import FakeFile
from tests.fakes.images import decode_data_url

PNG = FakeFile("diagram.png", images.png(64, 48), "image/png")
PHOTO = FakeFile("photo.jpg", images.jpeg_with_gps(400, 300), "image/jpeg")


async def ask_with(h: Harness, text: str, files: list[FakeFile], **kwargs: Any) -> dict[str, Any]:
    """Have alice mention the bot with `text` and `files`; return her message."""
    mention = f"<@{h.discord.bot_user.id}> {text}".rstrip()
    return await h.discord.user_says(h.channel, h.alice, mention, files=files, **kwargs)


async def test_an_image_goes_to_the_model_beside_the_text(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="A red rectangle."))
    asked = await ask_with(harness, "what is this?", [PNG])
    [answer] = await harness.replies_to(asked)
    assert answer["content"] == "A red rectangle."
    [request] = harness.model.requests
    question = request.messages[-1]
    assert question["content"][0] == {"type": "text", "text": "alice: what is this?\n\n[image: diagram.png]"}
    [url] = request.image_urls
    sent = decode_data_url(url)
    assert sent.media_type == "image/png" and sent.image.size == (64, 48)
    assert sent.image.getpixel((0, 0)) == (200, 30, 30)


async def test_a_photo_reaches_the_model_without_its_metadata(harness: Harness) -> None:
    asked = await ask_with(harness, "where was this taken?", [PHOTO])
    await harness.replies_to(asked)
    [url] = harness.model.requests[0].image_urls
    sent = decode_data_url(url)
    assert sent.media_type == "image/jpeg"
    assert not sent.image.getexif() and "comment" not in sent.image.info
    assert images.SECRET_COMMENT not in sent.data and b"PhoneMaker" not in sent.data
    assert images.SECRET_COMMENT.decode() not in harness.model.requests[0].json.__repr__()


async def test_an_image_alone_is_a_question(harness: Harness) -> None:
    asked = await ask_with(harness, "", [PNG])
    await harness.replies_to(asked)
    [request] = harness.model.requests
    assert request.texts()[-1] == "alice: [image: diagram.png]"
    assert len(request.image_urls) == 1


async def test_follow_ups_see_the_image_even_after_a_restart_and_expired_links(harness: Harness) -> None:
    first = await ask_with(harness, "what is this?", [PNG])
    await harness.replies_to(first)
    second = await harness.ask("and its colour?")
    await harness.replies_to(second)
    assert len(harness.model.requests[1].image_urls) == 1
    assert harness.model.requests[1].messages[1]["content"][1]["type"] == "image_url"
    await harness.stop_bot()
    harness.discord.cdn.expire_all()  # a day later: Discord's links no longer work
    downloads = len(harness.discord.cdn.requests)
    await harness.start_bot()
    third = await harness.ask("and its size?")
    await harness.replies_to(third)
    assert decode_data_url(harness.model.requests[2].image_urls[0]).image.size == (64, 48)
    assert len(harness.discord.cdn.requests) == downloads  # sent from the database, not fetched again


async def stored_images(h: Harness, channel: Any) -> int:
    """Return how many images the bot has stored for a channel, once it has settled."""
    await h.settled()
    assert h.bot is not None
    return await h.bot.storage.images.count(channel.id)


async def test_reset_forgets_the_images(harness: Harness) -> None:
    asked = await ask_with(harness, "what is this?", [PNG])
    await harness.replies_to(asked)
    assert await stored_images(harness, harness.channel) == 1
    moderator = harness.discord.add_member(
        harness.guild, "mod", permissions=DEFAULT_MEMBER_PERMISSIONS | MANAGE_MESSAGES
    )
    reset = await harness.discord.slash("reset", channel=harness.channel, author=moderator)
    await harness.discord.wait_for(lambda: len(reset.messages()) == 1)
    assert await stored_images(harness, harness.channel) == 0
    again = await harness.ask("what did I show you?")
    await harness.replies_to(again)
    assert harness.model.requests[-1].image_urls == []


@pytest.mark.parametrize("settings_overrides", [{"max_images": 2}])
async def test_more_images_than_max_images_are_named_in_a_note(harness: Harness) -> None:
    files = [FakeFile(f"shot{n}.png", images.png(10 + n, 10), "image/png") for n in range(3)]
    harness.model.enqueue(Reply(text="Two screenshots."))
    asked = await ask_with(harness, "compare these", files)
    [answer] = await harness.replies_to(asked)
    assert answer["content"] == (
        "Two screenshots.\n\n-# Not read: shot2.png (only 2 images are read per question)."
    )
    sizes = [decode_data_url(url).image.size for url in harness.model.requests[0].image_urls]
    assert sizes == [(10, 10), (11, 10)]
    assert not any(path.endswith("/shot2.png") for path in harness.discord.cdn.requests)  # not downloaded
    # The follow-up carries at most MAX_IMAGES, the newest first: the new one, then one of before.
    newer = await ask_with(harness, "and this?", [FakeFile("new.png", images.png(30, 30), "image/png")])
    await harness.replies_to(newer)
    sizes = [decode_data_url(url).image.size for url in harness.model.requests[1].image_urls]
    assert sizes == [(10, 10), (30, 30)]  # in message order: the earlier turn's first image, then the new one


@pytest.mark.parametrize("settings_overrides", [{"max_images": 0}])
async def test_with_max_images_zero_the_member_is_told(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Answer."))
    asked = await ask_with(harness, "what is this?", [PNG])
    [answer] = await harness.replies_to(asked)
    assert answer["content"] == "Answer.\n\n-# Not read: diagram.png (images are turned off here)."
    assert harness.model.requests[0].image_urls == []
    image_only = await ask_with(harness, "", [PNG])
    [refusal] = await harness.replies_to(image_only)
    assert "nothing for me to answer" in refusal["content"] and "images are turned off" in refusal["content"]
    assert len(harness.model.requests) == 1


async def test_an_oversized_and_a_corrupt_image_are_left_out_and_the_rest_answered(harness: Harness) -> None:
    big = FakeFile("huge.png", b"\x89PNG", "image/png", size=11 * 1024 * 1024)
    broken = FakeFile("broken.png", images.corrupt_image(), "image/png")
    harness.model.enqueue(Reply(text="One image."))
    asked = await ask_with(harness, "look", [big, broken, PNG])
    [answer] = await harness.replies_to(asked)
    assert answer["content"] == (
        "One image.\n\n-# Not read: huge.png (over 10 MiB), broken.png (not an image I can read)."
    )
    assert len(harness.model.requests[0].image_urls) == 1
    assert not any(path.endswith("/huge.png") for path in harness.discord.cdn.requests)
    assert "[attached, not read: huge.png]" in harness.model.requests[0].texts()[-1]


async def test_a_link_to_an_image_in_the_text_is_not_fetched(harness: Harness) -> None:
    shown = await harness.discord.user_says(harness.channel, harness.bob, "my screenshot", files=[PNG])
    link = shown["attachments"][0]["url"]
    asked = await harness.ask(f"what is in {link} ?")
    await harness.replies_to(asked)
    assert harness.discord.cdn.requests == []
    assert harness.model.requests[0].image_urls == []


async def test_a_text_file_is_inlined_after_the_question_in_a_fence_named_after_it(harness: Harness) -> None:
    log = FakeFile("build.log", b"step 1 ok\r\nstep 2 FAILED: \xff exit 3\r\n", "text/plain; charset=utf-8")
    asked = await ask_with(harness, "why did it fail?", [log])
    await harness.replies_to(asked)
    assert harness.model.requests[0].messages[-1]["content"] == (
        "alice: why did it fail?\n\n[file: build.log]\n```text\nstep 1 ok\nstep 2 FAILED: \ufffd exit 3\n```"
    )


async def test_a_paste_only_message_txt_is_a_question(harness: Harness) -> None:
    paste = FakeFile("message.txt", ("long paste " * 300).encode(), "text/plain; charset=utf-8")
    asked = await ask_with(harness, "", [paste])
    await harness.replies_to(asked)
    content = harness.model.requests[0].messages[-1]["content"]
    assert content.startswith("alice: [file: message.txt]\n```text\nlong paste long paste")


async def test_a_binary_file_is_named_in_a_note(harness: Harness) -> None:
    archive = FakeFile("logs.zip", b"PK\x03\x04" + bytes(100), "application/zip")
    harness.model.enqueue(Reply(text="Sure."))
    asked = await ask_with(harness, "can you read this?", [archive])
    [answer] = await harness.replies_to(asked)
    assert answer["content"] == "Sure.\n\n-# Not read: logs.zip (not an image or a text file)."
    assert harness.model.requests[0].messages[-1]["content"] == (
        "alice: can you read this?\n\n[attached, not read: logs.zip]"
    )
    assert harness.discord.cdn.requests == []


async def test_a_text_file_too_long_for_the_context_is_refused_without_a_model_call(harness: Harness) -> None:
    huge = FakeFile("dump.csv", b"a,b\n" * 40_000, "text/csv")  # 160 kB: over 8 bytes a token of 16,000
    asked = await ask_with(harness, "summarise", [huge])
    [reply] = await harness.replies_to(asked)
    assert reply["content"].startswith("`dump.csv` is too long for me to read (about 40,000 tokens")
    assert harness.model.requests == [] and harness.discord.cdn.requests == []  # not even downloaded
    counted = FakeFile("dump.csv", b"1,2\n" * 20_000, "text/csv")  # 80 kB: downloaded, then counted
    asked = await ask_with(harness, "summarise", [counted])
    [reply] = await harness.replies_to(asked)
    assert reply["content"].startswith("`dump.csv` is too long for me to read (about ")
    assert harness.model.requests == [] and len(harness.discord.cdn.requests) == 1


async def test_an_image_in_the_message_a_mention_replies_to_goes_along(harness: Harness) -> None:
    shown = await harness.discord.user_says(harness.channel, harness.bob, "", files=[PNG])
    asked = await ask_with(harness, "what is in bob's picture?", [], reply_to=int(shown["id"]))
    await harness.replies_to(asked)
    [request] = harness.model.requests
    assert request.texts()[-1] == (
        "alice: [replying to bob's attachments]\nwhat is in bob's picture?\n\n[image: diagram.png]"
    )
    assert len(request.image_urls) == 1


async def test_ask_takes_an_image_option(harness: Harness) -> None:
    interaction = await harness.discord.slash(
        "ask", {"question": "what is this?", "image": PHOTO}, channel=harness.channel, author=harness.alice
    )
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    [request] = harness.model.requests
    sent = decode_data_url(request.image_urls[0])
    assert sent.image.size == (400, 300) and not sent.image.getexif()
    assert request.texts()[-1] == "alice: what is this?\n\n[image: photo.jpg]"


async def test_chat_takes_an_image_option(harness: Harness) -> None:
    interaction = await harness.discord.slash(
        "chat",
        {"prompt": "let's talk about this", "image": PNG},
        channel=harness.channel,
        author=harness.alice,
    )
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    await harness.model.wait_requests(1)
    [thread] = harness.discord.threads_of(harness.channel)
    await harness.settled()
    follow_up = await harness.discord.user_says(thread, harness.alice, "and the colour?")
    await harness.replies_to(follow_up, channel=thread)
    assert [len(r.image_urls) for r in harness.model.requests] == [1, 1]
    await harness.discord.delete_channel(thread)
    assert await stored_images(harness, thread) == 0


async def test_the_tokens_of_images_count_toward_the_budget_estimate(harness: Harness) -> None:
    big = FakeFile("big.png", _noise_png(2048, 1536), "image/png")
    asked = await ask_with(harness, "what is this?", [big])
    await harness.replies_to(asked)
    assert harness.bot is not None
    [turn] = [
        t
        for t in await harness.bot.history.newest(harness.channel.id, budget_tokens=10_000)
        if t.role == "user"
    ]
    assert turn.tokens >= 765  # 1024 × 768: four tiles
    sent = decode_data_url(harness.model.requests[0].image_urls[0])
    assert sent.image.size == (1024, 768)


def _noise_png(width: int, height: int) -> bytes:
    """Return a PNG of random pixels (a photo-like image: large as PNG)."""
    import os

    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, format="PNG")
    return out.getvalue()


async def test_an_image_in_a_bot_thread_message_goes_along(harness: Harness) -> None:
    interaction = await harness.discord.slash(
        "chat", {"prompt": "a thread"}, channel=harness.channel, author=harness.alice
    )
    await harness.discord.wait_for(lambda: len(interaction.messages()) == 1)
    [thread] = harness.discord.threads_of(harness.channel)
    await harness.model.wait_requests(1)
    await harness.settled()
    said = await harness.discord.user_says(thread, harness.bob, "what about this one?", files=[PHOTO])
    await harness.replies_to(said, channel=thread)
    request = harness.model.requests[-1]
    assert request.texts()[-1] == "bob: what about this one?\n\n[image: photo.jpg]"
    assert not decode_data_url(request.image_urls[0]).image.getexif()


async def test_an_image_in_a_direct_message_goes_along(harness: Harness) -> None:
    await harness.stop_bot()
    await harness.start_bot(allow_dms=True)
    channel = harness.discord.dm_channel(harness.alice)
    said = await harness.discord.user_says(channel, harness.alice, "", files=[PNG])
    await harness.replies_to(said, channel=channel)
    [request] = harness.model.requests
    assert request.texts()[-1] == "alice: [image: diagram.png]" and len(request.image_urls) == 1


@pytest.mark.parametrize("settings_overrides", [{"stream": True}])
async def test_a_streamed_answer_ends_with_the_note(harness: Harness) -> None:
    harness.model.enqueue(Reply(text="Streamed answer."))
    asked = await ask_with(harness, "look", [FakeFile("notes.pdf", b"%PDF-1.7", "application/pdf"), PNG])
    [answer] = await harness.replies_to(asked)
    await harness.settled()
    final = harness.discord.world.messages[int(answer["id"])]["content"]
    assert final == "Streamed answer.\n\n-# Not read: notes.pdf (not an image or a text file)."
    assert len(harness.model.requests[0].image_urls) == 1


async def test_in_an_always_channel_an_image_alone_is_a_question(harness: Harness) -> None:
    help_desk = harness.discord.add_text_channel(harness.guild, "help")
    await config(harness, "channel", mode="always", channel=help_desk)
    said = await harness.discord.user_says(help_desk, harness.alice, "", files=[PNG])
    await harness.replies_to(said, channel=help_desk)
    [request] = harness.model.requests
    assert request.texts()[-1] == "alice: [image: diagram.png]" and len(request.image_urls) == 1
    # A sticker-like message with no text and no attachment is still not a question.
    await harness.discord.user_says(help_desk, harness.alice, "")
    await harness.settled()
    assert len(harness.model.requests) == 1
