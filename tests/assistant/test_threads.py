"""Thread rules: names cut at a word within 100 characters; the permissions a conversation needs."""

from __future__ import annotations

import discord
from hypothesis import given
from hypothesis import strategies as st

from assistant.threads import DEFAULT_THREAD_NAME, missing_permissions, thread_name


def test_a_short_prompt_is_the_name_on_one_line() -> None:
    assert thread_name("  What is\nPython?  ") == "What is Python?"


def test_a_long_prompt_is_cut_at_a_word() -> None:
    name = thread_name("alpha beta gamma " * 20)
    assert len(name) <= 100
    assert name.endswith("…")
    assert name[:-1].split()[-1] in ("alpha", "beta", "gamma")


def test_one_enormous_word_is_cut_where_it_must_be() -> None:
    assert len(thread_name("x" * 500)) == 100


def test_an_empty_prompt_gets_a_default_name() -> None:
    assert thread_name(" \n ") == DEFAULT_THREAD_NAME


@given(st.text())
def test_every_name_is_between_1_and_100_characters(prompt: str) -> None:
    assert 1 <= len(thread_name(prompt)) <= 100


def test_missing_permissions_are_named() -> None:
    everything = discord.Permissions(
        view_channel=True, create_public_threads=True, send_messages_in_threads=True
    )
    assert missing_permissions(everything) == []
    assert missing_permissions(discord.Permissions(view_channel=True)) == [
        "Create Public Threads",
        "Send Messages in Threads",
    ]
