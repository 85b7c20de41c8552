"""Shipped scene specs (YAML)."""
