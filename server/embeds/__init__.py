"""Embeds and previews: folium pages, their view and content, PNG previews, descriptions."""
