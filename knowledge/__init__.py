"""Insight Desk's knowledge engine: docfx articles in, ranked localized answers out.

Pure Python: imports nothing from botbuilder or aiohttp.
"""
