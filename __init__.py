"""lantian (蓝天): an open map server for enterprise pollution layers."""

__version__ = "0.1.0"
