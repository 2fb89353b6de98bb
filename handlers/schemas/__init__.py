"""Marshmallow schemas of the request and response bodies, one module per area."""
