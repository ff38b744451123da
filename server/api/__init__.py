"""The JSON API: search, enterprise detail and cards, point queries, statistics."""
