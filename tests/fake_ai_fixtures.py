"""Placeholder plugin; the fake AI server fixtures are registered here once they land."""
