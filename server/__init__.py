"""The composition root: ``create_app`` (app.py), the routes table (routes.py), one
lifecycle context per resource (ctx_*.py, resources.py), config loading (config.py), the
process entry points (cli.py, worker.py, gunicorn_app.py, admin.py).

The top layer: may import ``handlers``, ``services`` and ``db``; nothing imports it.
"""
