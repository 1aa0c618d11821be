"""Delivery: how an answer reaches Discord.

Whole or streamed posting (:mod:`.posting`, :mod:`.streaming`), the bot-wide request budget every
counted Discord request takes a slot of (:mod:`.requests`, applied to discord.py by :mod:`.gating`),
splitting under Discord's 2,000 characters (:mod:`.splitting`) and the places an answer can go
(:mod:`.replies`).
"""
