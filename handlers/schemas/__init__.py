"""Marshmallow schemas of the request and response bodies, one module per area.

May import ``services`` (for shared constants); never ``server``.
"""
