"""Outputs: what records and comparisons become for people and other programs."""
