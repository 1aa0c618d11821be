"""Settings resolution: a channel's value over its server's, threads follow their parent, defaults last."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assistant.policy.resolution import MODES, Place, Route, effort_of, mode_at, persona_at, route
from storage.settings import ChannelSettings, ServerSettings

GUILD, GENERAL, HELP, FORUM, POST = 1, 10, 11, 12, 99
SERVER = ServerSettings(
    GUILD,
    persona="Be terse.",
    reasoning_effort="high",
    channels={
        HELP: ChannelSettings(persona="Support desk.", mode="always"),
        FORUM: ChannelSettings(persona=None, mode="off"),
    },
)


def test_a_channels_persona_wins_over_the_servers_and_others_get_the_servers() -> None:
    assert persona_at(SERVER, Place(GUILD, HELP)) == "Support desk."
    assert persona_at(SERVER, Place(GUILD, GENERAL)) == "Be terse."
    assert persona_at(SERVER, Place(GUILD, FORUM)) == "Be terse."  # the forum sets a mode only
    assert persona_at(None, Place(GUILD, HELP)) is None
    assert persona_at(ServerSettings(GUILD), Place(GUILD, HELP)) is None


def test_threads_and_forum_posts_follow_their_parent() -> None:
    assert persona_at(SERVER, Place(GUILD, POST, parent_id=HELP)) == "Support desk."
    assert mode_at(SERVER, Place(GUILD, POST, parent_id=HELP)) == "always"
    assert mode_at(SERVER, Place(GUILD, POST, parent_id=FORUM)) == "off"
    assert mode_at(SERVER, Place(GUILD, POST, parent_id=GENERAL)) == "mention"


def test_the_mode_defaults_to_mention() -> None:
    assert mode_at(None, Place(GUILD, GENERAL)) == "mention"
    assert mode_at(SERVER, Place(GUILD, GENERAL)) == "mention"
    assert mode_at(SERVER, Place(GUILD, HELP)) == "always"


def test_the_servers_effort_wins_over_the_default_which_may_be_none() -> None:
    assert effort_of(SERVER, "low") == "high"
    assert effort_of(ServerSettings(GUILD), "low") == "low"
    assert effort_of(None, None) is None
    assert effort_of(ServerSettings(GUILD, reasoning_effort="none"), None) == "none"


@given(mode=st.sampled_from(MODES), addressed=st.booleans(), in_thread=st.booleans())
def test_what_a_message_gets_in_each_mode(mode: str, addressed: bool, in_thread: bool) -> None:
    got = route(mode, addressed=addressed, in_thread=in_thread)
    if mode == "off":
        assert got is Route.IGNORE
    elif mode == "always":
        assert got is Route.ANSWER  # every message, mention or not
    elif not addressed:
        assert got is Route.IGNORE
    elif mode == "thread":
        assert got is (Route.ANSWER if in_thread else Route.OPEN_THREAD)  # no thread inside a thread
    else:
        assert got is Route.ANSWER
