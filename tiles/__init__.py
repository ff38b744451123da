"""Map tiles and releases: colour scales, raster/vector PMTiles, atomic release builds."""
