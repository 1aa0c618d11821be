"""Policy in one place: who may use the bot, where and how it answers, with which persona.

:mod:`.resolution` holds the pure rules (a channel's setting over its server's, threads follow
their parent, the answer modes); :mod:`.service` holds :class:`Policy`, which the cogs ask before
any model call and through which /config changes the settings (kept in memory, stored in
:mod:`storage.settings`).
"""

from assistant.policy.resolution import MODES, PERSONA_MAX_CHARS, Place, Route
from assistant.policy.service import OFF_REFUSAL, Policy, place_of

__all__ = ["MODES", "OFF_REFUSAL", "PERSONA_MAX_CHARS", "Place", "Policy", "Route", "place_of"]
