"""Geocoding of enterprises and stations: gazetteer, datums, provenance."""
