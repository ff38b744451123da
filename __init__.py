"""lantian (蓝天): an open map server for enterprise pollution layers."""

from typing import Any

__version__ = "0.1.0"


def embed(*args: Any, **kwargs: Any) -> Any:
    """A folium embed of a release (an ``EmbedMap``); see
    :func:`lantian.server.embeds.routes.embed`, imported on first use so ``import lantian``
    stays light."""
    from lantian.server.embeds.routes import embed as build

    return build(*args, **kwargs)
