"""Catalog seed data (JSON) and the deterministic generator that writes it.
Imports nothing above ``db``."""
