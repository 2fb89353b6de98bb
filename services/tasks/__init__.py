"""Long-running tasks: service (API side), runner (job bodies), worker (procrastinate)."""
