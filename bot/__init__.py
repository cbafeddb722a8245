"""Insight Desk's Bot Framework plugin and host bot."""
