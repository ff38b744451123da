"""How to cite a release and under which licences its sources are used: plain strings.

Pure functions of a :class:`~lantian.server.releases.release.Release` (its manifest), shared by the
extracts (``server/extract.py``) and anything else that ships release data (embeds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..releases.release import Release

SYNTHETIC_NOTE = (
    "SYNTHETIC DATA: this release was built from synthetic test inputs. Its values are not "
    "measurements, findings or statistics about any real place or enterprise; do not cite, "
    "publish or map them as real."
)

# Which manifest sources a layer derives from, when the manifest's layer entry does not say
# (``layers[].sources``). Keys are a layer id, or ``raster`` for every raster (PM2.5) layer.
PLANT_SOURCES = ("gem", "wri", "gazetteer", "records", "ipe")
DEFAULT_LAYER_SOURCES: Mapping[str, tuple[str, ...]] = {
    "raster": ("cnemc", "stations"),
    "enterprises": PLANT_SOURCES,
    "cited": PLANT_SOURCES,
    "boundaries": ("boundaries",),
}


def _text(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


def created_date(release: Release) -> str:
    """The day the release was built (``YYYY-MM-DD``), or the raw ``created`` value."""
    created = _text(release.manifest.get("created"))
    return created[:10] if len(created) >= 10 and created[4:5] == "-" else created


def is_synthetic(release: Release) -> bool:
    return bool(release.manifest.get("synthetic", False))


def layer_sources(release: Release) -> dict[str, list[str]]:
    """``{layer id: [source id, …]}``: the manifest's ``layers[].sources`` where given, else
    the defaults above, keeping only sources the release lists."""
    known = [str(s.get("id")) for s in release.sources]
    raw_layers = {
        str(raw.get("id")): raw
        for raw in release.manifest.get("layers") or ()
        if isinstance(raw, Mapping)
    }
    result: dict[str, list[str]] = {}
    for layer in release.layers.values():
        given = raw_layers.get(layer.id, {}).get("sources")
        if isinstance(given, Sequence) and not isinstance(given, str):
            wanted = [str(s) for s in given]
        else:
            key = "raster" if layer.kind == "raster" else layer.id
            wanted = list(DEFAULT_LAYER_SOURCES.get(key, ()))
        result[layer.id] = [s for s in known if s in wanted]
    return result


def attributions(release: Release) -> list[str]:
    """Each source's attribution (its title when it has none), in manifest order."""
    out = []
    for source in release.sources:
        text = _text(source.get("attribution")) or _text(source.get("title"))
        if text and text not in out:
            out.append(text)
    return out


def citation(release: Release, url: str) -> str:
    """One line to cite the release (and ``url``, the data as downloaded or shown)."""
    title = _text(release.manifest.get("title")) or release.id
    parts = [f'lantian release {release.id} "{title}"']
    if created := created_date(release):
        parts.append(f" ({created})")
    text = "".join(parts) + f", {url.strip()}."
    if credits := attributions(release):
        text += " Data: " + "; ".join(credits) + "."
    if is_synthetic(release):
        text += " " + SYNTHETIC_NOTE
    return text


def licence_notes(release: Release) -> str:
    """Markdown: every source of the release with its licence, and which layers use it."""
    title = _text(release.manifest.get("title")) or release.id
    lines = [
        "# Sources and licences",
        "",
        f'lantian release `{release.id}` "{title}", built {created_date(release) or "?"}.',
        "",
    ]
    if is_synthetic(release):
        lines += [f"> **{SYNTHETIC_NOTE}**", ""]
    by_layer = layer_sources(release)
    lines += ["## Sources", ""]
    if not release.sources:
        lines += ["The release manifest lists no sources.", ""]
    for source in release.sources:
        source_id = _text(source.get("id"))
        layers = [layer for layer, ids in by_layer.items() if source_id in ids]
        lines += [
            f"### {_text(source.get('title')) or source_id} (`{source_id}`)",
            "",
            f"- URL: {_text(source.get('url')) or 'not given'}",
            f"- Licence: {_text(source.get('licence')) or 'not stated'}",
            f"- Attribution: {_text(source.get('attribution')) or 'not given'}",
            "- Layers derived from it: "
            + (", ".join(f"`{layer}`" for layer in layers) if layers else "none recorded"),
            "",
        ]
    if by_layer:
        lines += ["## Layers and their sources", "", "| layer | title | sources |", "|---|---|---|"]
        for layer_id, ids in by_layer.items():
            layer_title = _text(release.layers[layer_id].title).replace("|", "\\|")
            used = ", ".join(f"`{s}`" for s in ids) or "not recorded"
            lines.append(f"| `{layer_id}` | {layer_title} | {used} |")
        lines.append("")
    lines += [
        "Each enterprise row names its own source in `data_source`; each violation or output "
        "record names its source in `source` (and `source_url`). Keep these attributions when "
        "you republish the data, and follow each source's licence.",
        "",
    ]
    return "\n".join(lines)
