"""Token estimates, made offline (no tokenizer download): cheap, stable and on the safe side.

English prose averages about four characters per token in GPT tokenizers; most other scripts
(CJK, Cyrillic, emoji) cost about a token per character or more. So an ASCII character counts a
quarter of a token, any other character a whole one, and every message adds a small fixed
overhead for its role and framing. The estimate errs high for prose, which keeps budgets safe;
the service's reported `usage` is what quotas finally count.
"""

from __future__ import annotations

# Role, name and delimiter tokens the chat format adds around each message.
MESSAGE_OVERHEAD_TOKENS = 4
# Priming tokens the service adds for the assistant's reply.
REPLY_PRIMING_TOKENS = 3


def estimate_text_tokens(text: str) -> int:
    """Estimate the tokens of a piece of text."""
    # Counted at C speed, not character by character: every answer is estimated on the event
    # loop before it is posted, and answers run to thousands of characters.
    if text.isascii():
        return -(-len(text) // 4)
    ascii_chars = len(text.encode("ascii", "ignore"))  # the other characters are dropped
    return -(-ascii_chars // 4) + (len(text) - ascii_chars)


def estimate_message_tokens(content: str) -> int:
    """Estimate the tokens one chat message costs, framing included."""
    return estimate_text_tokens(content) + MESSAGE_OVERHEAD_TOKENS
