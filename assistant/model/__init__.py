"""The model: the chat-completions client, its wire format, its stream format and token counts.

Knows nothing of Discord: it turns messages into an answer (whole or streamed) and failures into
the classified errors of :mod:`assistant.errors`.
"""
