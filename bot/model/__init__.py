"""Leaf values every layer may import: papers, messages, channel addresses, link rules."""
