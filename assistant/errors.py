"""Domain errors: every failure a member can be told about, each with its short reply.

The cogs never format failures themselves: one ``CommandTree.on_error`` and one listener error
path turn a :class:`BotError` into ``exc.user_message``. Anything else is logged with its
traceback and answered with :data:`GENERIC_FAILURE`.

Messages must never contain secrets or raw service responses: ``detail`` (for the log) may carry
the service's own words, ``user_message`` (for Discord) never does.
"""

from __future__ import annotations

GENERIC_FAILURE = "Something went wrong on my side while answering. Please try again."


class BotError(Exception):
    """A failure with a short, specific reply for the member."""

    user_message: str = GENERIC_FAILURE
    # True when the member should not be told (e.g. a repeated slow-down); the log still is.
    silent: bool = False

    def __init__(self, detail: str = "", *, user_message: str | None = None) -> None:
        super().__init__(detail or self.__class__.__name__)
        if user_message is not None:
            self.user_message = user_message


# --- the completions service -------------------------------------------------------------------


class CompletionError(BotError):
    """The completions service did not give a usable answer."""

    retryable: bool = False
    user_message = "The AI service failed to answer. Please try again in a moment."
    request_id: str | None = None  # the gateway's id of the failed request, for the logs


class AuthenticationFailed(CompletionError):
    """401, or 403 without a quota code: the API key is wrong, disabled or not allowed."""

    user_message = (
        "The AI service rejected this bot's API key, so I can't answer right now. "
        "A server admin needs to check the bot's `EVOLINK_API_KEY`."
    )


class OutOfCredit(CompletionError):
    """402 (or 403/429 with a quota code): the account or key has no credit left."""

    #: "account" (balance), "key" (the key's spending limit) or "key_daily" (resets at midnight).
    scope: str = "account"

    def __init__(self, detail: str = "", *, scope: str = "account") -> None:
        super().__init__(detail, user_message=_OUT_OF_CREDIT_MESSAGES.get(scope))
        self.scope = scope


_OUT_OF_CREDIT_MESSAGES = {
    "account": (
        "The AI service account behind this bot is out of credit. "
        "Retrying won't help until a bot admin tops it up."
    ),
    "key": (
        "This bot's API key has reached its spending limit. Retrying won't help until a bot admin raises it."
    ),
    "key_daily": (
        "This bot's API key has used its daily allowance at the AI service. "
        "It resets at midnight; please try again then."
    ),
}


class RateLimited(CompletionError):
    """429 without a quota code: too many requests right now."""

    retryable = True
    user_message = "The AI service is busy with too many requests right now. Please try again in a minute."

    def __init__(self, detail: str = "", *, retry_after_seconds: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class ServiceUnavailable(CompletionError):
    """5xx: the service or its upstream is failing."""

    retryable = True
    user_message = (
        "The AI service is having trouble right now (a server error). Please try again in a few minutes."
    )

    def __init__(self, detail: str = "", *, status: int = 500) -> None:
        super().__init__(detail)
        self.status = status


class BadRequest(CompletionError):
    """400/404/413/422: the service refused the request itself; retrying the same one won't help."""

    user_message = (
        "The AI service refused this request (it may not support this model or a setting). "
        "A bot admin should check the logs."
    )


class ContextTooLong(BadRequest):
    """400 saying the conversation is more than the model accepts."""

    user_message = (
        "This conversation is too long for the model. Ask a shorter question, "
        "or use `/reset` to start the conversation afresh."
    )


class ContentFiltered(CompletionError):
    """The service's content filter blocked the request or the answer."""

    user_message = "The AI service's content filter blocked this answer. Try rephrasing the question."


class RequestTimedOut(CompletionError):
    """No answer within the client's timeouts. Not retried: the request may have been billed."""

    user_message = (
        "The AI service took too long to answer. Please try again, perhaps with a shorter question."
    )


class ConnectionFailed(CompletionError):
    """The service could not be reached (DNS, refused, reset before an answer)."""

    retryable = True
    user_message = "I couldn't reach the AI service. Please try again in a minute."


class MalformedReply(CompletionError):
    """The service answered with something that is not a chat completion."""

    user_message = "The AI service sent back a reply I couldn't read. Please try again."


class EmptyAnswer(CompletionError):
    """A well-formed completion with no text (e.g. ``finish_reason: length`` spent on reasoning)."""

    user_message = "The model finished without writing an answer. Please try again or rephrase the question."


# --- the bot's own rules -----------------------------------------------------------------------


class QuestionTooLong(BotError):
    """The question alone does not fit the context budget."""

    def __init__(self, question_tokens: int, budget_tokens: int) -> None:
        super().__init__(f"question of ~{question_tokens} tokens over budget {budget_tokens}")
        self.user_message = (
            f"Your question is too long for me (about {question_tokens:,} tokens; "
            f"the limit is {budget_tokens:,}). Please shorten it or split it up."
        )


class FileTooLong(BotError):
    """An attached text file alone does not fit the context budget: refused, never cut."""

    def __init__(self, filename: str, file_tokens: int, budget_tokens: int) -> None:
        super().__init__(f"attached file of ~{file_tokens} tokens over budget {budget_tokens}")
        self.user_message = (
            f"`{filename}` is too long for me to read (about {file_tokens:,} tokens; I can take "
            f"{budget_tokens:,} in one question). Please send the part that matters."
        )


class NothingToRead(BotError):
    """A question of attachments alone, none of which could be used: nothing is left to ask."""

    def __init__(self, note: str) -> None:
        super().__init__("no usable attachment and no text")
        self.user_message = f"I couldn't use what you attached, so there is nothing for me to answer.\n{note}"


class BudgetExhausted(BotError):
    """A daily token budget (the server's or the member's) is used up, so no model call is made."""

    user_message = "The daily token budget is used up. It resets at midnight UTC."


class InvalidBudget(BotError):
    """A budget an admin tried to set is not a whole number in the allowed range."""

    user_message = "A budget must be a whole number of tokens from 0 (unlimited) upwards."


class ChannelBusy(BotError):
    """Too many questions are already waiting in this channel."""

    user_message = "Too many questions are waiting in this channel right now. Please try again in a minute."


class TooManyWaiting(BotError):
    """A member already has several questions waiting; more are dropped until those are answered."""

    def __init__(self, waiting: int, *, notify: bool = True) -> None:
        super().__init__(f"member already has {waiting} questions in flight")
        self.user_message = (
            f"You already have {waiting} questions waiting for an answer, so I dropped this one. "
            "Ask it again once those are answered."
        )
        # One notice per flood is enough; a refusal per extra question would flood the channel too.
        self.silent = not notify


class AlreadyAnswered(BotError):
    """Another session (a deploy's overlap) took this message or interaction first; it answers it."""

    silent = True


class ShuttingDown(BotError):
    """The bot is stopping and takes no new questions (or could not finish this one in time)."""

    user_message = "I'm restarting right now, so I couldn't answer that. Please ask again in a minute."
