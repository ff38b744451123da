"""Atom feeds: valid against RFC 4287's RELAX NG schema (tests/server/atom.rnc, Appendix B of
the RFC, converted with rnc2rng and checked with lxml), plus the RFC's rules a schema cannot
state (unique ids, RFC 3339 dates, an author, an alternate link or content per entry), bounds,
caching, release pinning and 4xx answers naming the bad parameter."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import lantian_fixture_release as builder  # registered by tests/conftest.py
import lantian_fixture_stats as stats_fixture  # registered by tests/conftest.py
import pytest
import rnc2rng
from fastapi.testclient import TestClient
from lxml import etree

from lantian.server.app import create_app
from lantian.server.feeds.atom import MAX_ENTRIES, Entry, Feed, Link, render, tag_uri
from lantian.settings import Settings

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA_PATH = Path(__file__).with_name("atom.rnc")
# RFC 3339 date-time, as section 3.3 of RFC 4287 requires ("T" and "Z" upper case)
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")  # absolute IRIs (section 4.2.6)


@pytest.fixture(scope="module")
def atom_schema() -> etree.RelaxNG:
    rng = rnc2rng.dumps(rnc2rng.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    # rnc2rng declares the schema's `namespace local = ""` as xmlns:local="", which XML 1.0
    # namespaces forbid (lxml refuses it); the declaration is unused (`local:*` is written as
    # <nsName ns=""/>), so it is dropped.
    rng = rng.replace(' xmlns:local=""', "").replace('xmlns:local=""', "")
    return etree.RelaxNG(etree.fromstring(rng.encode("utf-8")))


def check_feed(schema: etree.RelaxNG, body: bytes) -> etree._Element:
    """The feed document, after every check; fails with the first broken rule."""
    root = etree.fromstring(body)
    assert schema.validate(root), schema.error_log
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) <= MAX_ENTRIES
    ids = [root.findtext(f"{ATOM}id")] + [e.findtext(f"{ATOM}id") for e in entries]
    assert len(ids) == len(set(ids)), "atom:id values must be unique"
    assert all(URI.match(i or "") for i in ids), ids
    for element in root.iter(f"{ATOM}updated", f"{ATOM}published"):
        assert RFC3339.match(element.text or ""), element.text
    # RFC 4287 4.1.1: an author unless every entry has one; the schema leaves it to Schematron
    assert root.find(f"{ATOM}author") is not None or all(
        e.find(f"{ATOM}author") is not None for e in entries)
    assert root.find(f"{ATOM}link[@rel='self']") is not None  # SHOULD (4.1.1)
    for entry in entries:  # 4.1.1.1: an alternate link or content
        alternate = [link for link in entry.findall(f"{ATOM}link")
                     if link.get("rel", "alternate") == "alternate"]  # fmt: skip
        assert alternate or entry.find(f"{ATOM}content") is not None
        pairs = [(a.get("type"), a.get("hreflang")) for a in alternate]
        assert len(pairs) == len(set(pairs))  # one alternate per type and language
    return root


def feed(client: TestClient, url: str, **params: str) -> bytes:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    return response.content


FEEDS = ["/feeds/cities/130200.atom", "/feeds/cities/371100.atom",
         "/feeds/provinces/130000.atom", "/feeds/releases.atom",
         *[f"/feeds/plants/{p['id']}.atom" for p in builder.PLANTS]]  # fmt: skip


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("url", FEEDS)
def test_every_feed_validates(stats_client: TestClient, atom_schema: etree.RelaxNG, url: str,
                              lang: str) -> None:  # fmt: skip
    root = check_feed(atom_schema, feed(stats_client, url, lang=lang))
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == lang
    pinned = check_feed(atom_schema, feed(stats_client, url, lang=lang,
                                          release="2019-fixture.1"))  # fmt: skip
    assert pinned.findtext(f"{ATOM}id") == root.findtext(f"{ATOM}id")


def test_city_feed_has_an_entry_per_period(stats_client: TestClient,
                                           atom_schema: etree.RelaxNG) -> None:  # fmt: skip
    root = check_feed(atom_schema, feed(stats_client, "/feeds/cities/371100.atom", lang="en"))
    entries = root.findall(f"{ATOM}entry")
    labels = [e.findtext(f"{ATOM}id").rsplit("/", 1)[1] for e in entries]
    expected = {*stats_fixture.PRIOR, *stats_fixture.MONTHS_2019, *stats_fixture.QUARTERS, "2019"}
    assert set(labels) == expected and len(labels) == len(expected)
    assert labels[:3] == ["2019", "2019Q4", "2019-12"]  # newest first, the year before its parts
    assert root.findtext(f"{ATOM}id") == "tag:testserver,2026:feeds/cities/371100"
    assert entries[0].findtext(f"{ATOM}id") == "tag:testserver,2026:city/371100/2019"
    assert root.findtext(f"{ATOM}updated") == "2024-01-01T00:00:00Z"  # manifest "created"
    by_label = dict(zip(labels, entries, strict=True))
    january = by_label["2019-01"]
    assert january.findtext(f"{ATOM}title") == "Rizhao, January 2019: PM2.5 64.0 µg/m³"
    content = january.findtext(f"{ATOM}content")
    assert "Change on a year before (January 2018): not available" in content
    assert "Rank 6 of 6 cities nationally" in content
    august = by_label["2019-08"]
    assert august.findtext(f"{ATOM}title") == "Rizhao, August 2019: no PM2.5 value"
    link = january.find(f"{ATOM}link")
    assert link.get("rel") == "alternate" and link.get("type") == "text/html"
    assert link.get("href") == "http://testserver/?city=371100&period=2019-01&lang=en"
    pinned = etree.fromstring(feed(stats_client, "/feeds/cities/371100.atom", lang="zh",
                                   release="2019-fixture.1"))  # fmt: skip
    href = pinned.find(f"{ATOM}entry/{ATOM}link").get("href")
    assert href.endswith("&lang=zh&release=2019-fixture.1")
    zh = pinned.find(f"{ATOM}entry").findtext(f"{ATOM}title")
    assert zh.startswith("日照 2019年：PM2.5")


def test_province_feed_ranks_provinces(stats_client: TestClient) -> None:
    root = etree.fromstring(feed(stats_client, "/feeds/provinces/130000.atom", lang="en"))
    year = root.find(f"{ATOM}entry")
    assert year.findtext(f"{ATOM}title").startswith("Hebei, 2019: PM2.5")
    content = year.findtext(f"{ATOM}content")
    assert "Rank 1 of 5 provinces" in content and "1 of 2 cities with a valid mean" in content


def test_plant_feed_has_records_output_and_pm25(stats_client: TestClient) -> None:
    root = etree.fromstring(feed(stats_client, f"/feeds/plants/{builder.SHOUGANG}.atom",
                                 lang="en"))  # fmt: skip
    ids = [e.findtext(f"{ATOM}id") for e in root.findall(f"{ATOM}entry")]
    plant = "tag:testserver,2026:plant/gem:P100000120001"
    assert {f"{plant}/record/v:{n}" for n in (1, 2, 3)} <= set(ids)
    assert f"{plant}/output/o:1" in ids
    assert {f"{plant}/pm25/2019Q1", f"{plant}/pm25/2019Q2"} <= set(ids)
    assert f"{plant}/pm25/2018Q4" not in ids  # no PM2.5 grid for that quarter
    entries = {e.findtext(f"{ATOM}id"): e for e in root.findall(f"{ATOM}entry")}
    record = entries[f"{plant}/record/v:1"]
    assert record.findtext(f"{ATOM}published") == "2018-10-15T16:00:00Z"  # Beijing midnight
    related = record.find(f"{ATOM}link[@rel='related']")
    assert related.get("href") == "https://example.org/hebei-epb/2018-10"
    assert entries[f"{plant}/record/v:2"].find(f"{ATOM}published") is None  # month precision
    assert entries[f"{plant}/output/o:1"].findtext(f"{ATOM}title") == (
        "Output up +12.5%: 2018-Q4 vs 2017-Q4")
    alternate = record.find(f"{ATOM}link[@rel='alternate']").get("href")
    assert alternate == "http://testserver/?lang=en#plant=gem:P100000120001"
    assert ids[0] == f"{plant}/pm25/2019Q2"  # newest first


def test_plant_feed_escapes_data(stats_client: TestClient) -> None:
    body = feed(stats_client, f"/feeds/plants/{builder.TAIYUAN}.atom", lang="zh")
    assert b"<script>" not in body and b"<img" not in body
    root = etree.fromstring(body)
    assert "太原焦化<script>" in root.findtext(f"{ATOM}title")
    english = etree.fromstring(feed(stats_client, f"/feeds/plants/{builder.TAIYUAN}.atom",
                                    lang="en"))  # fmt: skip
    assert english.findtext(f"{ATOM}title").startswith("Taiyuan Coking & Co:")
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    assert any('onerror="window.__xss=1"' in t for t in titles)


def test_feeds_are_cached_and_pinned(stats_client: TestClient) -> None:
    url = "/feeds/cities/130100.atom"
    first = stats_client.get(url, params={"lang": "en"})
    assert first.headers["cache-control"] == "public, max-age=300"
    assert first.headers["content-language"] == "en"
    again = stats_client.get(url, params={"lang": "en"},
                             headers={"If-None-Match": first.headers["etag"]})  # fmt: skip
    assert again.status_code == 304
    pinned = stats_client.get(url, params={"lang": "en", "release": "2019-fixture.1"})
    assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
    negotiated = stats_client.get(url, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert negotiated.headers["vary"] == "Accept-Language"
    assert negotiated.headers["etag"] != stats_client.get(
        url, headers={"Accept-Language": "en"}).headers["etag"]


@pytest.mark.parametrize(
    ("url", "status", "parameter"),
    [
        ("/feeds/cities/13010.atom", 422, "adcode"),
        ("/feeds/cities/abcdef.atom", 422, "adcode"),
        ("/feeds/cities/999999.atom", 404, "999999"),
        ("/feeds/provinces/1300000.atom", 422, "adcode"),
        ("/feeds/provinces/990000.atom", 404, "990000"),
        ("/feeds/plants/no:such.atom", 404, "enterprise"),
        (f"/feeds/plants/{'x' * 200}.atom", 422, "enterprise_id"),
        ("/feeds/cities/130100.atom?lang=fr", 422, "lang"),
        ("/feeds/releases.atom?lang=de", 422, "lang"),
        ("/feeds/cities/130100.atom?release=../x", 422, "release"),
        ("/feeds/cities/130100.atom?release=r-unknown", 404, "release"),
    ],
)
def test_bad_feed_parameters(stats_client: TestClient, url: str, status: int,
                             parameter: str) -> None:  # fmt: skip
    response = stats_client.get(url)
    assert response.status_code == status, response.text
    assert parameter in response.text


@pytest.fixture
def two_releases(tmp_path: Path) -> Iterator[TestClient]:
    """A data dir with the fixture release and a newer copy (created a year later)."""
    release = builder.build_release(tmp_path)
    newer = builder.copy_release(release.root, "2020-fixture.1", title="Newer <fixture>")
    manifest = json.loads((newer / "manifest.json").read_text(encoding="utf-8"))
    manifest["created"] = "2025-01-01T08:00:00+08:00"
    manifest["title_zh"] = "较新的版本"
    (newer / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    (tmp_path / "releases" / "not-a-release").mkdir()
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        yield client


def test_releases_feed_lists_releases_newest_first(two_releases: TestClient,
                                                   atom_schema: etree.RelaxNG) -> None:  # fmt: skip
    root = check_feed(atom_schema, feed(two_releases, "/feeds/releases.atom", lang="en"))
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        "tag:testserver,2026:release/2020-fixture.1", "tag:testserver,2026:release/2019-fixture.1"]
    assert root.findtext(f"{ATOM}updated") == "2025-01-01T00:00:00Z"
    newest = entries[0]
    assert newest.findtext(f"{ATOM}title") == "Newer <fixture> (2020-fixture.1)"
    assert newest.find(f"{ATOM}link").get("href") == (
        "http://testserver/?release=2020-fixture.1&lang=en")
    assert "SYNTHETIC" in newest.findtext(f"{ATOM}content")
    zh = etree.fromstring(feed(two_releases, "/feeds/releases.atom", lang="zh"))
    assert zh.find(f"{ATOM}entry").findtext(f"{ATOM}title") == "较新的版本（2020-fixture.1）"
    first = two_releases.get("/feeds/releases.atom", params={"lang": "en"})
    cached = two_releases.get("/feeds/releases.atom", params={"lang": "en"},
                              headers={"If-None-Match": first.headers["etag"]})  # fmt: skip
    assert cached.status_code == 304


def test_render_bounds_entries_and_drops_what_xml_cannot_hold(
    atom_schema: etree.RelaxNG,
) -> None:
    moment = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    hostile = 'a\x00b\x01c <script>alert("x")</script> & ]]> \ufffe'
    entries = [Entry(id=tag_uri("example.org", "e", str(i)), title=f"{hostile} {i}",
                     updated=moment, links=[Link(f"https://example.org/?a=1&b={i}")],
                     content=hostile) for i in range(150)]  # fmt: skip
    body = render(Feed(id=tag_uri("example.org", "feed"), title=hostile, updated=moment,
                       lang="en", author=hostile, links=[Link("https://example.org/x", "self")],
                       entries=entries))  # fmt: skip
    root = check_feed(atom_schema, body)
    assert len(root.findall(f"{ATOM}entry")) == MAX_ENTRIES
    assert root.findtext(f"{ATOM}title") == 'abc <script>alert("x")</script> & ]]> '
    assert root.find(f"{ATOM}entry/{ATOM}link").get("href") == "https://example.org/?a=1&b=0"


def test_tag_uris() -> None:
    assert tag_uri("Maps.Example.org", "plant", "gem:P1", "record", "v 1") == (
        "tag:maps.example.org,2026:plant/gem:P1/record/v%201")
    assert tag_uri("::1", "x").startswith("tag:localhost,2026:")
    assert urlsplit(tag_uri("127.0.0.1", "city", "130100")).scheme == "tag"


def test_the_schema_rejects_what_rfc_4287_forbids(atom_schema: etree.RelaxNG) -> None:
    """The converted schema is not vacuous: a feed without atom:id, or with a date that is not
    RFC 3339, does not validate."""
    good = render(Feed(id="tag:example.org,2026:f", title="t", lang="en", author="a",
                       updated=datetime(2024, 1, 1, tzinfo=UTC)))  # fmt: skip
    assert atom_schema.validate(etree.fromstring(good))
    root = etree.fromstring(good)
    root.remove(root.find(f"{ATOM}id"))
    assert not atom_schema.validate(root)
    root = etree.fromstring(good)
    root.find(f"{ATOM}updated").text = "1 January 2024"
    assert not atom_schema.validate(root)

