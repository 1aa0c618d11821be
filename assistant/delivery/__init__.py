"""Delivery: how an answer reaches Discord.

Whole or streamed posting (:mod:`.posting`, :mod:`.streaming`), edit pacing (:mod:`.pacing`),
splitting under Discord's 2,000 characters (:mod:`.splitting`) and the places an answer can go
(:mod:`.replies`).
"""
