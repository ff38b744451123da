"""Atom feeds: ``/feeds/releases.atom``, ``/feeds/plants/{id}.atom``, ``/feeds/cities/{adcode}
.atom`` and ``/feeds/provinces/{adcode}.atom``.

Entries carry ``tag:`` ids (RFC 4151) that do not change between releases, so a reader sees a
period's entry once and its update when a newer release revises it; ``updated`` is the
``created`` time of the release (of each release in the releases feed). At most 100 entries,
newest first. Pinned (``?release=``) feeds are immutable; others are cached for 5 minutes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Request, Response

from ...i18n import Lang, format_date, format_number, format_period, place_name
from ...i18n import translate as _
from ...layers.periods import bounds, period_type
from ...settings import Settings
from ...tiles.release import Release as StoredRelease
from ...tiles.release import ReleaseStore
from ..api.answers import NOT_MODIFIED, UNPINNED_CACHE, cached, etag
from ..api.regions import Region, RegionIndex, Row, number, rank_entry, region_index
from ..api.routes import enterprise_index, pm25_attribution
from ..api.stats import AdcodePath, pm25_sources
from ..deps import EnterpriseId, LangDep, ReleaseDep, vary_language
from ..errors import ERROR_RESPONSES
from ..releases.release import Release
from ..tiles.routes import base_url, etag_matches
from .atom import MAX_ENTRIES, MEDIA_TYPE, Entry, Feed, Link, parse_time, render, tag_uri

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHINA = timezone(timedelta(hours=8))  # the dates of the records are Beijing time
MAX_RELEASES_SCANNED = 1_000
ATOM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/atom+xml": {}}}, **NOT_MODIFIED}


# ---- texts ---------------------------------------------------------------------------------


def period_name(lang: Lang, label: str) -> str:
    """``2019-01`` → January 2019 / 2019年1月; ``2019`` → 2019 / 2019年."""
    return _(lang, "feed.year", year=label) if period_type(label) == "year" else format_period(
        lang, label)


def percent(lang: Lang, value: Any) -> str:
    found = number(value)
    return _(lang, "feed.not_available") if found is None else f"{found:+.1f}%"


def pm25_text(value: Any) -> str | None:
    found = number(value)
    return None if found is None else format_number("en", found, 1)


def _period_end(label: str) -> datetime:
    _start, end = bounds(label)
    return end.to_pydatetime().replace(tzinfo=CHINA)


def newest_first(labels: Iterable[str]) -> list[str]:
    """Periods by their end, newest first; at the same end the longer period first."""
    kinds = ("month", "quarter", "year")
    return sorted(labels, key=lambda p: (_period_end(p), kinds.index(period_type(p))),
                  reverse=True)  # fmt: skip


def region_lines(lang: Lang, row: Row, index: RegionIndex, region: Region) -> list[str]:
    """The figures of one region-period, one sentence each."""
    label = str(row.get("period"))
    lines = [
        _(lang, "feed.change_prev", period=period_name(lang, str(row.get("change_prev_period")
                                                              or "")),
          change=percent(lang, row.get("change_prev_pct"))),
        _(lang, "feed.change_year", period=period_name(lang, str(row.get("change_year_period")
                                                              or "")),
          change=percent(lang, row.get("change_year_pct"))),
    ]  # fmt: skip
    if region.kind == "city":
        days = number(row.get("n_days"))
        key = "feed.valid" if row.get("valid") else "feed.invalid"
        lines.append(_(lang, key, days=format_number(lang, days or 0)))
    else:
        lines.append(_(lang, "feed.region_valid", valid=format_number(
            lang, number(row.get("n_valid_cities")) or 0), n=format_number(
            lang, number(row.get("n_cities")) or 0)))  # fmt: skip
    over = number(row.get("days_over_75"))
    if over is not None:
        lines.append(_(lang, "feed.days_over_75", days=format_number(
            lang, over, 0 if over == int(over) else 1)))  # fmt: skip
    if period_type(label) == "year" and number(row.get("pm25")) is not None:
        lines.append(_(lang, "feed.meets_annual" if row.get("meets_annual_limit")
                       else "feed.above_annual"))  # fmt: skip
    if region.kind == "city":
        lines += city_rank_lines(lang, row, index, region)
    else:
        lines += province_rank_lines(lang, label, index, region)
    return lines


def city_rank_lines(lang: Lang, row: Row, index: RegionIndex, city: Region) -> list[str]:
    lines = []
    national = rank_entry(row, "national")
    if national:
        lines.append(_(lang, "feed.rank_national", rank=national["rank"], n=national["of"]))
    scopes = [("group", next((index.groups[g] for g in city.groups if g in index.groups), None)),
              ("province", index.provinces.get(city.province or ""))]  # fmt: skip
    for scope, region in scopes:
        entry = rank_entry(row, scope)
        if entry and region is not None:
            lines.append(_(lang, "feed.rank_in", rank=entry["rank"], n=entry["of"],
                           region=place_name(lang, region.name_zh, region.name_en)))
    return lines


def province_rank_lines(lang: Lang, label: str, index: RegionIndex, province: Region) -> list[
        str]:  # fmt: skip
    """Rank among the provinces with a value in the period (1 = highest)."""
    values = {code: number((index.row(p, label) or {}).get("pm25"))
              for code, p in index.provinces.items()}  # fmt: skip
    ranked = sorted((c for c, v in values.items() if v is not None),
                    key=lambda c: (-(values[c] or 0), c))  # fmt: skip
    if province.code not in ranked:
        return []
    return [_(lang, "feed.rank_provinces", rank=ranked.index(province.code) + 1, n=len(ranked))]


# ---- links ---------------------------------------------------------------------------------


def _host(request: Request, settings: Settings) -> str:
    return urlsplit(base_url(request, settings)).hostname or ""


def self_link(request: Request, settings: Settings) -> Link:
    query = f"?{request.url.query}" if request.url.query else ""
    return Link(f"{base_url(request, settings)}{request.url.path}{query}", rel="self",
                type="application/atom+xml")  # fmt: skip


def page_link(request: Request, settings: Settings, lang: Lang, fragment: str = "",
              **params: str) -> Link:  # fmt: skip
    """The map page (``/?city=…&period=…``, ``/#plant=…``) in the feed's language and release."""
    query = params | {"lang": lang}
    if release := request.query_params.get("release"):
        query["release"] = release
    return Link(f"{base_url(request, settings)}/?{urlencode(query)}{fragment}", type="text/html")


# ---- feeds ---------------------------------------------------------------------------------


def subtitle(release: Release, lang: Lang) -> str:
    found = [str((lang == "zh" and s.get("attribution_zh")) or s.get("attribution"))
             for s in pm25_sources(release)]  # fmt: skip
    source = _(lang, "feed.list_sep").join(found) or pm25_attribution(release) or "—"
    text = _(lang, "feed.subtitle", source=source, release=release.id)
    return _(lang, "feed.synthetic", text=text) if release.manifest.get("synthetic") else text


def updated_of(release: Release) -> datetime:
    return parse_time(release.manifest.get("created"), EPOCH)


def region_feed(release: Release, request: Request, settings: Settings, lang: Lang,
                region: Region, kind: str) -> Feed:  # fmt: skip
    """An entry per period (month, quarter, year) of a city or province."""
    index = region_index(release)
    host, updated = _host(request, settings), updated_of(release)
    name = place_name(lang, region.name_zh, region.name_en)
    rows = index.series(region)
    entries = []
    for label in newest_first(rows)[:MAX_ENTRIES]:
        row = rows[label]
        value = pm25_text(row.get("pm25"))
        title = (_(lang, "feed.entry_title", place=name, period=period_name(lang, label),
                   value=value) if value is not None else
                 _(lang, "feed.entry_no_value", place=name, period=period_name(lang, label)))
        entries.append(Entry(
            id=tag_uri(host, kind, region.code, label), title=title, updated=updated,
            links=[page_link(request, settings, lang, **{kind: region.code, "period": label})],
            content="\n".join(region_lines(lang, row, index, region)),
            categories=[period_type(label)],
        ))  # fmt: skip
    return Feed(
        id=tag_uri(host, "feeds", {"city": "cities", "province": "provinces"}[kind], region.code),
        title=_(lang, f"feed.{kind}_title", place=name),
        subtitle=subtitle(release, lang),
        updated=updated, lang=lang, author=_(lang, "feed.author"),
        links=[self_link(request, settings), page_link(request, settings, lang,
                                                       **{kind: region.code})],
        entries=entries,
    )  # fmt: skip


def _day(text: str | None) -> datetime | None:
    """A record's day (``2019-02-01``) as midnight Beijing time; None for months or less."""
    try:
        day = datetime.strptime(str(text), "%Y-%m-%d")
    except ValueError:
        return None
    return day.replace(tzinfo=CHINA)


def _sort_key(text: Any) -> str:
    """A sortable date from ``2019-02-01``, ``2019-02``, ``2018-Q4``, ``2019Q1`` …"""
    value = str(text or "").replace("-Q", "Q")
    if "Q" in value[:6]:
        try:
            return _period_end(value[:6]).strftime("%Y-%m-%d")
        except ValueError:
            return value
    return value


def _http(url: Any) -> str | None:
    text = str(url or "")
    return text if urlsplit(text).scheme in ("http", "https") else None


def plant_feed(release: Release, request: Request, settings: Settings, lang: Lang,
               plant_id: str) -> Feed:  # fmt: skip
    """New records, output changes and PM2.5 around the plant per quarter."""
    index = enterprise_index(release, plant_id)
    props = release.enterprises.features[index]["properties"]
    name = place_name(lang, props.get("name_zh") or props.get("name"), props.get("name_en"))
    host, updated = _host(request, settings), updated_of(release)
    page = page_link(request, settings, lang, f"#plant={quote(plant_id, safe=':')}")
    records = release.records
    dated: list[tuple[str, Entry]] = []
    for record in records.violations.get(plant_id, ()):
        lines = [_(lang, f"feed.plant.{key}", value=record[key]) for key in
                 ("authority", "category", "penalty", "source") if record.get(key)]  # fmt: skip
        links = [page]
        if url := _http(record.get("source_url")):
            links.append(Link(url, rel="related", title=_(lang, "feed.plant.source_link")))
        entry = Entry(
            id=tag_uri(host, "plant", plant_id, "record", str(record["record_id"])),
            title=_(lang, "feed.plant.record_title", date=record.get("date") or "—",
                    finding=record.get("finding") or "—"),
            updated=updated, published=_day(record.get("date")), links=links,
            content="\n".join(lines) or None, categories=["record"],
        )  # fmt: skip
        dated.append((_sort_key(record.get("date")), entry))
    for record in records.output.get(plant_id, ()):
        direction = record.get("direction") or "unknown"
        if direction not in ("up", "down", "flat"):
            direction = "unknown"
        lines = [_(lang, f"feed.plant.{key}", value=record[key]) for key in
                 ("product", "note", "source") if record.get(key)]  # fmt: skip
        entry = Entry(
            id=tag_uri(host, "plant", plant_id, "output", str(record["record_id"])),
            title=_(lang, "feed.plant.output_title",
                    direction=_(lang, f"feed.plant.direction.{direction}"),
                    change=percent(lang, record.get("change_pct")),
                    period=record.get("period") or "—",
                    compared=record.get("compared_with") or "—"),
            updated=updated, links=[page], content="\n".join(lines) or None,
            categories=["output"],
        )  # fmt: skip
        dated.append((_sort_key(record.get("period")), entry))
    for quarter, facts in records.facts.get(plant_id, {}).items():
        near, wider = pm25_text(facts.get("pm25_5km")), pm25_text(facts.get("pm25_10km"))
        if near is None and wider is None:
            continue
        lines = [_(lang, "feed.plant.pm25_10km", value=wider or _(lang, "feed.not_available"))]
        cited = number(facts.get("violations_12m"))
        if cited:
            lines.append(_(lang, "feed.plant.records_12m", n=int(cited)))
        entry = Entry(
            id=tag_uri(host, "plant", plant_id, "pm25", quarter),
            title=_(lang, "feed.plant.pm25_title", period=period_name(lang, quarter),
                    value=near or _(lang, "feed.not_available")),
            updated=updated, links=[page], content="\n".join(lines), categories=["pm25"],
        )  # fmt: skip
        dated.append((_period_end(quarter).strftime("%Y-%m-%d"), entry))
    dated.sort(key=lambda pair: pair[0], reverse=True)
    return Feed(
        id=tag_uri(host, "feeds", "plants", plant_id),
        title=_(lang, "feed.plant.title", plant=name),
        subtitle=subtitle(release, lang),
        updated=updated, lang=lang, author=_(lang, "feed.author"),
        links=[self_link(request, settings), page],
        entries=[entry for _key, entry in dated[:MAX_ENTRIES]],
    )  # fmt: skip


class ReleaseList:
    """The valid releases of the data dir, re-read only when a manifest changes."""

    def __init__(self, settings: Settings) -> None:
        self.store = ReleaseStore(settings.data_dir)
        self._lock = threading.Lock()
        self._seen: tuple[tuple[str, int, int], ...] | None = None
        self._releases: list[StoredRelease] = []

    def signature(self) -> tuple[tuple[str, int, int], ...]:
        """(name, manifest mtime, size) of every release folder (the first 1,000)."""
        folder = self.store.releases_dir
        found = []
        if folder.is_dir():
            for i, path in enumerate(sorted(folder.iterdir())):
                if i >= MAX_RELEASES_SCANNED:
                    break
                if path.name.startswith("."):
                    continue
                try:
                    info = (path / "manifest.json").stat()
                except OSError:
                    continue
                found.append((path.name, info.st_mtime_ns, info.st_size))
        return tuple(found)

    def releases(self, signature: tuple[tuple[str, int, int], ...]) -> list[StoredRelease]:
        with self._lock:
            if signature != self._seen:
                self._releases = self.store.list_releases()
                self._seen = signature
            return list(self._releases)


def release_entry(request: Request, settings: Settings, lang: Lang, host: str,
                  release: StoredRelease) -> Entry:  # fmt: skip
    manifest = release.manifest
    title = (manifest.title_zh or manifest.title) if lang == "zh" else manifest.title
    periods = manifest.periods or {"quarter": manifest.quarters}
    spans = [f"{period_name(lang, labels[0])} – {period_name(lang, labels[-1])}"
             for labels in (periods.get(k) or [] for k in ("month", "quarter", "year"))
             if labels]  # fmt: skip
    lines = [
        _(lang, "feed.release.created", date=format_date(lang, manifest.created.date())),
        _(lang, "feed.release.periods", periods=_(lang, "feed.list_sep").join(spans) or "—"),
        _(lang, "feed.release.files", n=len(manifest.files),
          size=format_number(lang, sum(f.bytes for f in manifest.files) / 2**20, 1)),
        _(lang, "feed.release.sources", sources=_(lang, "feed.list_sep").join(
            (s.attribution_zh or s.attribution) if lang == "zh" else s.attribution
            for s in manifest.sources)),
    ]  # fmt: skip
    if manifest.synthetic:
        lines.insert(0, _(lang, "feed.release.synthetic"))
    base = base_url(request, settings)
    query = urlencode({"release": release.id, "lang": lang})
    return Entry(
        id=tag_uri(host, "release", release.id),
        title=_(lang, "feed.release.title", title=title, release=release.id),
        updated=manifest.created, published=manifest.created,
        links=[Link(f"{base}/?{query}", type="text/html"),
               Link(f"{base}/downloads?{urlencode({'release': release.id})}", rel="related",
                    type="application/json", title=_(lang, "feed.release.downloads"))],
        content="\n".join(lines), categories=["synthetic"] if manifest.synthetic else [],
    )  # fmt: skip


def feeds_router(settings: Settings) -> APIRouter:
    """Routes under ``/feeds``."""
    router = APIRouter(tags=["feeds"], responses=ERROR_RESPONSES)
    listing = ReleaseList(settings)

    def atom(request: Request, lang: Lang) -> dict[str, str]:
        return {"Content-Language": lang} | vary_language(request)

    @router.get("/feeds/releases.atom", response_class=Response, responses=ATOM_RESPONSES)
    def releases(request: Request, lang: LangDep) -> Response:
        """The releases of this server, newest first (at most 100)."""
        signature = listing.signature()
        tag = etag("releases", signature, lang, base_url(request, settings), request.url.query)
        headers = {"ETag": tag, "Cache-Control": UNPINNED_CACHE} | atom(request, lang)
        if etag_matches(request.headers.get("if-none-match"), tag):
            return Response(status_code=304, headers=headers)
        found = sorted(listing.releases(signature), key=lambda r: (r.manifest.created, r.id),
                       reverse=True)[:MAX_ENTRIES]  # fmt: skip
        host = _host(request, settings)
        feed = Feed(
            id=tag_uri(host, "feeds", "releases"), title=_(lang, "feed.releases.title"),
            subtitle=_(lang, "feed.releases.subtitle"),
            updated=found[0].manifest.created if found else EPOCH, lang=lang,
            author=_(lang, "feed.author"),
            links=[self_link(request, settings), page_link(request, settings, lang)],
            entries=[release_entry(request, settings, lang, host, r) for r in found],
        )  # fmt: skip
        return Response(render(feed), media_type=MEDIA_TYPE, headers=headers)

    @router.get("/feeds/plants/{enterprise_id}.atom", response_class=Response,
                responses=ATOM_RESPONSES)  # fmt: skip
    def plant(release: ReleaseDep, request: Request, enterprise_id: EnterpriseId,
              lang: LangDep) -> Response:  # fmt: skip
        """A plant's records, output changes and the PM2.5 around it each quarter."""
        enterprise_index(release, enterprise_id)  # 404 first
        return cached(request, release, lambda: Response(
            render(plant_feed(release, request, settings, lang, enterprise_id)),
            media_type=MEDIA_TYPE), "plant", lang, headers=atom(request, lang))

    @router.get("/feeds/cities/{adcode}.atom", response_class=Response,
                responses=ATOM_RESPONSES)  # fmt: skip
    def city(release: ReleaseDep, request: Request, adcode: AdcodePath,
             lang: LangDep) -> Response:  # fmt: skip
        """A city's PM2.5 per month, quarter and year: level, changes and ranks."""
        region = region_index(release).city(adcode)
        return cached(request, release, lambda: Response(
            render(region_feed(release, request, settings, lang, region, "city")),
            media_type=MEDIA_TYPE), "city", lang, headers=atom(request, lang))

    @router.get("/feeds/provinces/{adcode}.atom", response_class=Response,
                responses=ATOM_RESPONSES)  # fmt: skip
    def province(release: ReleaseDep, request: Request, adcode: AdcodePath,
                 lang: LangDep) -> Response:  # fmt: skip
        """A province's PM2.5 per month, quarter and year: level, changes and rank."""
        region = region_index(release).province(adcode)
        return cached(request, release, lambda: Response(
            render(region_feed(release, request, settings, lang, region, "province")),
            media_type=MEDIA_TYPE), "province", lang, headers=atom(request, lang))

    return router

