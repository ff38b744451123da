"""Atom 1.0 feeds (RFC 4287): releases, plants, cities and provinces."""
