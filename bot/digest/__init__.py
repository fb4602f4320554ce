"""Digest selection, the delivery ledger, and the one delivery loop."""
