"""Tiles: the tile routes, TileJSON, and the fast path in front of FastAPI."""
