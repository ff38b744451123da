"""FastAPI server that serves a built release."""
