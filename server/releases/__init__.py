"""Releases: opening, verifying and following the `current` link; PMTiles reading; records."""
