"""`python bot.py --check`: the setup checklist (:mod:`.checks`), with the completions service's
checks in :mod:`.completions`, Discord's in :mod:`.discord` and the result type in :mod:`.results`.
"""

from assistant.preflight.checks import run

__all__ = ["run"]
