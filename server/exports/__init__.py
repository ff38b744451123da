"""Extracts and downloads: release files, filtered extracts, citations and licences."""
