"""How to cite a release and under which licences its sources are used: plain strings in
Chinese or English (the ``citation.*`` messages of :mod:`lantian.i18n`).

Pure functions of a :class:`~lantian.server.releases.release.Release` (its manifest), shared by the
extracts (``exports/extract.py``) and anything else that ships release data (embeds). Titles,
attributions and licences are the manifest's own words, in the language the sources use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from ...i18n import Lang, format_date
from ...i18n import translate as _
from ..releases.release import Release

# Which manifest sources a layer derives from, when the manifest's layer entry does not say
# (``layers[].sources``). Keys are a layer id, or ``raster`` for every raster (PM2.5) layer.
PLANT_SOURCES = ("gist", "gem", "gcpt", "wri", "gcct", "gci", "gazetteer", "records", "ipe")
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


def attributions(release: Release, lang: Lang = "en") -> list[str]:
    """Each source's attribution in ``lang`` (else in English, else its title), in manifest
    order."""
    out = []
    for source in release.sources:
        text = ((_text(source.get("attribution_zh")) if lang == "zh" else "")
                or _text(source.get("attribution")) or _text(source.get("title")))
        if text and text not in out:
            out.append(text)
    return out


def release_title(release: Release, lang: Lang) -> str:
    """The release's title in ``lang`` (else the other language's, else its id)."""
    titles = (_text(release.manifest.get("title_zh")), _text(release.manifest.get("title")))
    first, second = titles if lang == "zh" else titles[::-1]
    return first or second or release.id


def built_date(release: Release, lang: Lang) -> str:
    """The build date as ``1 January 2024`` / ``2024年1月1日`` (else as the manifest has it,
    ``""`` without one)."""
    created = created_date(release)
    try:
        return format_date(lang, date.fromisoformat(created))
    except ValueError:
        return created


def citation(release: Release, url: str, lang: Lang = "en") -> str:
    """One line in ``lang`` to cite the release (and ``url``, the data as downloaded or
    shown)."""
    title = release_title(release, lang)
    built = built_date(release, lang)
    text = (_(lang, "citation.line_dated", id=release.id, title=title, date=built, url=url.strip())
            if built else _(lang, "citation.line", id=release.id, title=title, url=url.strip()))
    if credits := attributions(release, lang):
        text += _(lang, "citation.data", credits=_(lang, "citation.credits_sep").join(credits))
    if is_synthetic(release):
        text += _(lang, "citation.synthetic_after", note=_(lang, "citation.synthetic"))
    return text


def both_languages(lang: Lang, write: Callable[[Lang], str]) -> str:
    """``write(lang)``, then ``write`` in the other language below a rule: the extracts carry
    both, the reader's first."""
    other: Lang = "en" if lang == "zh" else "zh"
    return f"{write(lang).rstrip()}\n\n---\n\n{write(other).rstrip()}\n"


def licence_notes(release: Release, lang: Lang = "en") -> str:
    """Markdown in ``lang``: every source of the release with its licence, and which layers
    use it."""
    title = _text(release.manifest.get("title")) or release.id
    lines = [
        f"# {_(lang, 'citation.licences.heading')}",
        "",
        _(lang, "citation.licences.release", id=release.id, title=title,
          date=built_date(release, lang) or "?"),
        "",
    ]  # fmt: skip
    if is_synthetic(release):
        lines += [f"> **{_(lang, 'citation.synthetic')}**", ""]
    by_layer = layer_sources(release)
    lines += [f"## {_(lang, 'citation.licences.sources')}", ""]
    if not release.sources:
        lines += [_(lang, "citation.licences.no_sources"), ""]
    missing = {"url": "citation.licences.not_given", "licence": "citation.licences.not_stated",
               "attribution": "citation.licences.not_given"}  # fmt: skip
    for source in release.sources:
        source_id = _text(source.get("id"))
        layers = [layer for layer, ids in by_layer.items() if source_id in ids]
        lines += [f"### {_text(source.get('title')) or source_id} (`{source_id}`)", ""]
        for key, message in missing.items():
            value = _text(source.get(key)) or _(lang, message)
            lines.append(f"- {_(lang, f'citation.licences.{key}', value=value)}")
        used = (_(lang, "citation.list_sep").join(f"`{layer}`" for layer in layers) if layers
                else _(lang, "citation.licences.none_recorded"))  # fmt: skip
        lines += [f"- {_(lang, 'citation.licences.layers', layers=used)}", ""]
    if by_layer:
        lines += [f"## {_(lang, 'citation.licences.by_layer')}", "",
                  f"| {_(lang, 'citation.licences.columns')} |", "|---|---|---|"]  # fmt: skip
        for layer_id, ids in by_layer.items():
            layer_title = _text(release.layers[layer_id].title).replace("|", "\\|")
            used = (_(lang, "citation.list_sep").join(f"`{s}`" for s in ids)
                    or _(lang, "citation.licences.not_recorded"))  # fmt: skip
            lines.append(f"| `{layer_id}` | {layer_title} | {used} |")
        lines.append("")
    lines += [_(lang, "citation.licences.keep"), ""]
    return "\n".join(lines)
