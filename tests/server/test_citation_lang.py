"""Release titles and source credits follow the reader's language where the release has both."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from lantian.server.exports.citation import attributions, release_title


def _release(**manifest: Any) -> Any:
    sources = manifest.pop("sources", [])
    return SimpleNamespace(id="r-1", manifest=manifest, sources=sources)


def test_title_in_the_chosen_language_else_the_other() -> None:
    both = _release(title="North China 2019", title_zh="华北 2019")
    assert release_title(both, "zh") == "华北 2019"
    assert release_title(both, "en") == "North China 2019"
    english_only = _release(title="North China 2019")
    assert release_title(english_only, "zh") == "North China 2019"
    assert release_title(_release(), "en") == "r-1"


def test_credits_in_chinese_where_a_source_has_them() -> None:
    release = _release(sources=[
        {"id": "gem", "attribution": "Global Energy Monitor", "attribution_zh": "全球能源监测"},
        {"id": "wri", "attribution": "WRI"},
        {"id": "x", "title": "Untitled source"},
    ])
    assert attributions(release, "zh") == ["全球能源监测", "WRI", "Untitled source"]
    assert attributions(release, "en") == ["Global Energy Monitor", "WRI", "Untitled source"]
