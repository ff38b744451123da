"""Data layers: quarterly PM2.5 grids, enterprise layer, regional statistics."""
