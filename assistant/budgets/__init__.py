"""Budgets: the gate every model call passes (:mod:`.gate`) and the daily token quotas behind it
(:mod:`.quotas`).
"""
