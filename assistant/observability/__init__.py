"""What an operator sees of the running bot: Prometheus metrics and a health check.

:mod:`metrics` holds the instruments and the few calls the answer path makes (a question answered,
tokens spent, a model error, a budget refusal); :mod:`answers` times each answer;
:mod:`discord_http` counts Discord requests; :mod:`server` serves ``/metrics`` and ``/health`` on
``METRICS_ADDRESS``; :mod:`probe` is the container's health probe. With ``METRICS_ADDRESS`` unset
nothing is recorded and nothing listens.
"""
