"""The AI gateway: provider chain (provider.py, local.py), cache, quota, prompts, stats.

May import ``db`` and other services (the breaker protects the provider); never
``handlers`` or ``server``.
"""
