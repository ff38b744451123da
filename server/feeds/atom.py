"""Atom 1.0 documents (RFC 4287) built with ElementTree: every text is an escaped text node or
attribute, never spliced into markup, and control characters (not allowed in XML) are dropped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
MAX_ENTRIES = 100
TAG_DATE = "2026"  # the date part of this server's tag: URIs (RFC 4151); never change it
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DNS_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*"
                       r"[A-Za-z0-9])?)*$")  # fmt: skip


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold."""
    return _NOT_XML.sub("", text)


def rfc3339(moment: datetime) -> str:
    """``2019-01-31T00:00:00Z`` (UTC; naive times are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None, default: datetime) -> datetime:
    """An ISO 8601 time (a manifest's ``created``), else ``default``."""
    try:
        moment = datetime.fromisoformat(str(text))
    except (TypeError, ValueError):
        return default
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def tag_uri(host: str, *parts: str) -> str:
    """``tag:<host>,2026:<part>/<part>…`` (RFC 4151), parts percent-encoded; a host that is no
    DNS name (an IPv6 literal, empty) becomes ``localhost``."""
    authority = host.lower() if _DNS_NAME.match(host or "") else "localhost"
    specific = "/".join(quote(part, safe=":@") for part in parts)
    return f"tag:{authority},{TAG_DATE}:{specific}"


@dataclass(frozen=True)
class Link:
    href: str
    rel: str = "alternate"
    type: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    updated: datetime
    links: Sequence[Link] = ()
    summary: str | None = None
    content: str | None = None  # plain text
    published: datetime | None = None
    categories: Sequence[str] = ()


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    updated: datetime
    lang: str
    author: str
    links: Sequence[Link] = ()
    subtitle: str | None = None
    rights: str | None = None
    generator: str = "lantian"
    entries: Sequence[Entry] = field(default_factory=tuple)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str | None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}",
                            {k: xml_text(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        element.text = xml_text(text)
    return element


def _links(parent: ET.Element, links: Sequence[Link]) -> None:
    for link in links:
        _add(parent, "link", href=link.href, rel=link.rel, type=link.type, title=link.title)


def render(feed: Feed) -> bytes:
    """The feed document, UTF-8, with at most ``MAX_ENTRIES`` entries."""
    ET.register_namespace("", ATOM_NS)
    root = ET.Element(f"{{{ATOM_NS}}}feed", {XML_LANG: feed.lang})
    _add(root, "id", feed.id)
    _add(root, "title", feed.title, type="text")
    if feed.subtitle:
        _add(root, "subtitle", feed.subtitle, type="text")
    _add(root, "updated", rfc3339(feed.updated))
    author = _add(root, "author")
    _add(author, "name", feed.author)
    _links(root, feed.links)
    if feed.rights:
        _add(root, "rights", feed.rights, type="text")
    _add(root, "generator", feed.generator)
    for item in list(feed.entries)[:MAX_ENTRIES]:
        entry = _add(root, "entry")
        _add(entry, "id", item.id)
        _add(entry, "title", item.title, type="text")
        _add(entry, "updated", rfc3339(item.updated))
        if item.published is not None:
            _add(entry, "published", rfc3339(item.published))
        _links(entry, item.links)
        for term in item.categories:
            _add(entry, "category", term=term)
        if item.summary:
            _add(entry, "summary", item.summary, type="text")
        if item.content:
            _add(entry, "content", item.content, type="text")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
