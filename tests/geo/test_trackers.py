import csv
from pathlib import Path

import numpy as np
import pytest

from lantian.errors import InputError
from lantian.geo.dates import normal_date
from lantian.geo.enterprises import COLUMNS, REPORT_COLUMNS, load_wri_power
from lantian.geo.trackers import (
    UNIT_COLUMNS,
    combine_tables,
    load_gcct,
    load_gci,
    load_gcpt,
    load_gist,
    load_plants,
    load_trackers,
)

# The trackers' real headers (the staged China subsets in ../shared/data/plants)
GCCT = [
    "GEM Plant ID", "GEM Asset name (English)", "Asset name (other language)",
    "Alternative asset name(s)", "SFI ID", "LeadIT Project ID", "Coordinates",
    "Coordinate accuracy", "GEM wiki page", "Municipality", "Subnational unit", "Country/Area",
    "Cement Capacity (millions metric tonnes per annum)",
    "Clinker Capacity (millions metric tonnes per annum)", "Majority Cement Type", "Cement Color",
    "Operating status", "Start date", "Owner name (English)", "Owner name (other language)",
    "Owner Entity ID", "Parent", "Parent Entity ID", "Plant type", "Production type", "CCS/CCUS",
    "Alternative Fuel", "Clay Calcination", "lat", "lon"]
GIST = [
    "Plant ID", "Plant name (English)", "Plant name (other language)",
    "Other plant names (English)", "Other plant names (other language)", "Owner",
    "Owner (other language)", "Owner GEM ID", "Owner PermID", "SOE Status", "Parent",
    "Parent GEM ID", "Parent PermID", "Location address", "Municipality",
    "Subnational unit (province/state)", "Country/Area", "Region",
    "Other language location address", "Coordinates", "Coordinate accuracy", "GEM wiki page",
    "Plant age (years)", "Announced date", "Construction date", "Start date",
    "Pre-retirement announcement date", "Idled date", "Retired date",
    "Ferronickel capacity (ttpa)", "Sinter plant capacity (ttpa)", "Coking plant capacity (ttpa)",
    "Pelletizing plant capacity (ttpa)", "Category steel product", "Steel products",
    "Steel sector end users", "Workforce size", "ISO 14001", "ISO 50001",
    "ResponsibleSteel Certification", "Main production equipment", "Power source",
    "Iron ore source", "Met coal source", "lat", "lon"]
GIST_STATUS = [
    "Plant ID", "Plant name (English)", "Plant name (other language)", "Country/Area", "Status",
    "Start date", "Nominal crude steel capacity (ttpa)", "Nominal BOF steel capacity (ttpa)",
    "Nominal EAF steel capacity (ttpa)", "Nominal OHF steel capacity (ttpa)",
    "Other/unspecified steel capacity (ttpa)", "Nominal iron capacity (ttpa)",
    "Nominal BF capacity (ttpa)", "Nominal DRI capacity (ttpa)",
    "Other/unspecified iron capacity (ttpa)"]
GCPT = [
    "GEM unit/phase ID", "GEM location ID", "Plant name", "Unit name", "Plant name (local)",
    "Plant name (other)", "Owner", "Parent", "Capacity (MW)", "Status", "Start year",
    "Retired year", "Planned retirement", "Combustion technology", "Coal type", "Location",
    "Local area (taluk, county)", "Major area (prefecture, district)",
    "Subnational unit (province, state)", "Latitude", "Longitude", "Location accuracy",
    "Captive", "Captive industry use", "Captive residential use",
    "Annual CO2 (million tonnes / annum)", "Wiki URL"]
GCI = [
    "GEM plant ID", "Plant name (English)", "Plant name (other language)",
    "Other plant names (English)", "Other plant names (other language)", "SFI ID",
    "Owner (English)", "Owner (other language)", "Owner GEM entity ID", "Municipality",
    "Subnational unit", "Country/area", "Region", "ISO3 code", "Coordinates",
    "Coordinate accuracy", "GEM wiki page", "Primary products", "Secondary products", "Feedstock",
    "Feedstock accuracy", "lat", "lon"]
WRI = [
    "Power Plant ID", "Name", "Fuel", "Capacity (MW)", "Commissioning Date", "Owner",
    "Operational Status", "Latitude", "Longitude"]


def write(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    """A CSV in ``header``'s layout; columns a row does not name are blank."""
    unknown = {key for row in rows for key in row} - set(header)
    assert not unknown, unknown
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def cement(**row: str) -> dict[str, str]:
    base = {"GEM Plant ID": "P1", "GEM Asset name (English)": "Conch Cement Plant",
            "Asset name (other language)": "海螺水泥厂 (Chinese)", "Operating status": "operating",
            "Coordinate accuracy": "exact", "Subnational unit": "Anhui", "lat": "31.2",
            "lon": "118.4"}
    return {**base, **row}


def steel(**row: str) -> dict[str, str]:
    base = {"Plant ID": "P100", "Plant name (English)": "Xinyang Steel",
            "Plant name (other language)": "信阳钢铁", "Owner": "Xinyang Iron & Steel",
            "Owner (other language)": "安钢集团信阳钢铁有限责任公司",
            "Other language location address": "河南省信阳市平桥区明港镇新民路34号",
            "Subnational unit (province/state)": "Henan", "Municipality": "unknown",
            "Coordinate accuracy": "exact", "Start date": "1971", "Idled date": "unknown",
            "Retired date": "unknown", "Coking plant capacity (ttpa)": "unknown",
            "Main production equipment": "BF; BOF", "lat": "32.488704", "lon": "114.038243"}
    return {**base, **row}


def status_row(plant: str, status: str, capacity: str, start: str = "unknown") -> dict[str, str]:
    return {"Plant ID": plant, "Status": status, "Start date": start,
            "Nominal crude steel capacity (ttpa)": capacity}


def coal(unit: str, location: str, status: str, mw: str, **row: str) -> dict[str, str]:
    base = {"GEM unit/phase ID": unit, "GEM location ID": location,
            "Plant name": f"Plant {location}", "Unit name": f"Unit {unit}",
            "Plant name (local)": f"电厂{location}", "Owner": "Datang", "Capacity (MW)": mw,
            "Status": status, "Subnational unit (province, state)": "Anhui",
            "Major area (prefecture, district)": "Huainan",
            "Local area (taluk, county)": "Tianjia'an", "Latitude": "32.65",
            "Longitude": "117.0", "Location accuracy": "exact"}
    return {**base, **row}


def chemical(**row: str) -> dict[str, str]:
    base = {"GEM plant ID": "P7", "Plant name (English)": "Xiaoyi Jinmao Chemical",
            "Plant name (other language)": "\u200c孝义市晋茂化工有限公司 (Chinese)",
            "Owner (English)": "Jinmao Chemical Co [100%]",
            "Owner (other language)": "孝义市晋茂化工有限公司 (Chinese)",
            "Subnational unit": "Shanxi", "Municipality": "Lüliang",
            "Coordinate accuracy": "exact", "Primary products": "methanol",
            "Feedstock": "coal", "lat": "37.1", "lon": "111.8"}
    return {**base, **row}


@pytest.mark.parametrize(("text", "expected"), [
    ("2022-06-29 00:00:00", "2022-06-29"), ("2006.0", "2006"), ("2006", "2006"),
    ("2021-3", "2021-03"), (" unknown ", ""), ("", ""), ("Unknown", ""),
])
def test_dates_keep_the_precision_the_source_gave(text: str, expected: str) -> None:
    assert normal_date(text) == expected


@pytest.mark.parametrize("text", ["abc", "2021-13", "2021-02-30", "1492", "06/2021", ">0"])
def test_a_value_that_is_not_a_date_raises(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a date|outside"):
        normal_date(text)


def test_gcct_cement_plants(tmp_path: Path) -> None:
    path = write(tmp_path / "gem_gcct_2025-07_china_cement_plants.csv", GCCT, [
        cement(**{"Cement Capacity (millions metric tonnes per annum)": "2.4",
                  "Start date": "1978", "Plant type": "integrated",
                  "Owner name (English)": "Conch [60.0%]; Hailuo [40.0%]",
                  "Owner name (other language)": "海螺 (Chinese) [60%]; 海螺二 (Chinese) [40%]"}),
        cement(**{"GEM Plant ID": "P2", "Asset name (other language)": "",
                  "GEM Asset name (English)": "Old Grinding Plant", "Operating status": "retired",
                  "Cement Capacity (millions metric tonnes per annum)": ">0",
                  "Start date": "unknown", "Plant type": "unknown"}),
    ])
    table = load_gcct(path)
    assert table.report.empty and list(table.layer.columns) == [*COLUMNS, "geometry"]
    first, second = table.layer.iloc[0], table.layer.iloc[1]
    assert (first["id"], first["name"], first["name_en"]) == (
        "gem:P1", "海螺水泥厂", "Conch Cement Plant")
    assert (first["industry"], first["capacity"], first["capacity_unit"]) == (
        "cement", 2.4, "Mt/a cement")
    assert (first["owner"], first["owner_zh"]) == ("Conch; Hailuo", "海螺; 海螺二")
    assert (first["status"], first["start_date"], first["products"]) == (
        "operating", "1978", "integrated")
    assert (first.geometry.x, first.geometry.y) == (118.4, 31.2)
    assert (first["source_datum"], first["province"], first["coking"]) == ("WGS-84", "Anhui", 0)
    assert first["data_source"] == ("Global Energy Monitor, Global Cement and Concrete Tracker, "
                                    "July 2025 (CC BY 4.0)")
    # no Chinese name: the English one; ">0" capacity unknown
    assert second["name"] == "Old Grinding Plant" and np.isnan(second["capacity"])
    assert (second["status"], second["start_date"], second["products"]) == ("retired", "", "")
    assert table.units[["enterprise_id", "unit_id", "status"]].values.tolist() == [
        ["gem:P1", "gem:P1", "operating"], ["gem:P2", "gem:P2", "retired"]]


@pytest.mark.parametrize(("bad", "row", "field", "message"), [
    ({"Start date": "197B"}, 2, "Start date", "not a date"),
    ({"GEM Plant ID": "P1"}, 2, "GEM Plant ID", "used twice"),
    ({"GEM Plant ID": " "}, 2, "GEM Plant ID", "empty id"),
    ({"Asset name (other language)": "", "GEM Asset name (English)": ""}, 2,
     "GEM Asset name (English)", "empty plant name"),
    ({"lat": "91.5"}, 2, "lat", "not a coordinate"),
    ({"Operating status": "running"}, 2, "Operating status", "unknown status"),
    ({"Cement Capacity (millions metric tonnes per annum)": "2,4"}, 2,
     "Cement Capacity (millions metric tonnes per annum)", "not a number"),
])
def test_bad_cement_rows_name_file_row_and_field(
    tmp_path: Path, bad: dict[str, str], row: int, field: str, message: str
) -> None:
    path = write(tmp_path / "cement.csv", GCCT, [cement(), cement(**{"GEM Plant ID": "P2",
                                                                     **bad})])
    with pytest.raises(InputError, match=message) as err:
        load_gcct(path)
    assert (Path(err.value.file).name, err.value.row, err.value.field) == ("cement.csv", row, field)


def test_plant_without_coordinates_goes_to_the_report(tmp_path: Path) -> None:
    path = write(tmp_path / "cement.csv", GCCT, [cement(), cement(**{
        "GEM Plant ID": "P2", "lat": "", "lon": ""})])
    table = load_gcct(path)
    assert list(table.layer["id"]) == ["gem:P1"] and list(table.units["enterprise_id"]) == [
        "gem:P1"]
    assert table.report[["row", "id", "status", "reason"]].values.tolist() == [
        [2, "gem:P2", "failed", "no coordinates in the tracker"]]
    assert list(table.report.columns) == REPORT_COLUMNS


def gist_files(tmp_path: Path, statuses: list[dict[str, str]]) -> Path:
    plants = write(tmp_path / "gem_gist_2025-12_china_steel_plants.csv", GIST, [
        steel(**{"Coking plant capacity (ttpa)": "600", "Retired date": "2023-06-01 00:00:00"}),
        steel(**{"Plant ID": "P200", "Plant name (other language)": "", "Plant name (English)":
                 "Coastal Steel", "Coking plant capacity (ttpa)": ">0", "Start date": "unknown",
                 "Idled date": "2022-06-29 00:00:00", "Other language location address": ""}),
        steel(**{"Plant ID": "P300", "Plant name (other language)": "新钢", "Start date": ""}),
    ])
    write(tmp_path / "gem_gist_2025-12_china_steel_capacity_by_status.csv", GIST_STATUS,
          statuses)
    return plants


def test_gist_status_rows_become_units_and_roll_up(tmp_path: Path) -> None:
    plants = gist_files(tmp_path, [
        status_row("P100", "operating", "2000", "1971"),
        status_row("P100", "operating pre-retirement", "1600", "2003"),
        status_row("P100", "retired", "500", "1980-05-01 00:00:00"),
        status_row("P200", "mothballed", "1200"),
        status_row("P200", "announced", "3000", "2028"),
    ])
    table = load_gist(plants)  # the capacity sheet is found beside the plants by name
    assert table.report.empty
    units = table.units.set_index("unit_id")
    assert list(units.index) == ["gem:P100#operating", "gem:P100#operating pre-retirement",
                                 "gem:P100#retired", "gem:P200#mothballed",
                                 "gem:P200#announced", "gem:P300#unknown"]
    assert list(table.units.columns) == UNIT_COLUMNS
    assert units.loc["gem:P100#retired", ["start_date", "retired_date", "idled_date"]].tolist() \
        == ["1980-05-01", "2023-06-01", ""]
    assert units.loc["gem:P100#operating", ["capacity", "retired_date"]].tolist() == [2000, ""]
    assert units.loc["gem:P200#mothballed", ["idled_date", "retired_date"]].tolist() == [
        "2022-06-29", ""]
    assert units.loc["gem:P200#announced", "start_date"] == "2028"
    assert set(units["capacity_unit"]) == {"ttpa crude steel"}
    plants_by_id = table.layer.set_index("id")
    p100, p200, p300 = (plants_by_id.loc[f"gem:P{n}"] for n in (100, 200, 300))
    # operating and operating pre-retirement count together; the retired row does not
    assert (p100["status"], p100["capacity"]) == ("operating", 3600)
    assert (p100["start_date"], p100["retired_date"]) == ("1971", "2023-06-01")
    assert (p100["coking_capacity"], p100["coking"]) == (600, 1)
    assert p100["address"] == "河南省信阳市平桥区明港镇新民路34号"
    assert (p100["owner_zh"], p100["products"], p100["city"]) == (
        "安钢集团信阳钢铁有限责任公司", "BF; BOF", "")
    assert (p200["status"], p200["capacity"], p200["name"]) == ("mothballed", 1200,
                                                                 "Coastal Steel")
    assert np.isnan(p200["coking_capacity"]) and p200["coking"] == 1  # GEM's ">0"
    assert p200["idled_date"] == "2022-06-29"
    assert p300["status"] == "" and np.isnan(p300["capacity"])
    assert set(table.layer["source_ids"]) == {"gem:P100", "gem:P200", "gem:P300"}


def test_gist_bad_status_rows_name_their_row(tmp_path: Path) -> None:
    plants = gist_files(tmp_path, [status_row("P100", "operating", "2000"),
                                   status_row("P999", "operating", "2000")])
    with pytest.raises(InputError, match=r"P999.*not in the plant sheet") as err:
        load_gist(plants)
    assert (err.value.row, err.value.field) == (2, "Plant ID")
    assert err.value.file.endswith("_capacity_by_status.csv")
    plants = gist_files(tmp_path, [status_row("P100", "operating", "2000"),
                                   status_row("P100", "operating", "1000")])
    with pytest.raises(InputError, match="given twice") as err:
        load_gist(plants)
    assert (err.value.row, err.value.field) == (2, "Status")
    plants = gist_files(tmp_path, [status_row("P100", "operating", "2000", "1971-1975")])
    with pytest.raises(InputError, match="not a date") as err:
        load_gist(plants)
    assert (err.value.row, err.value.field) == (1, "Start date")


def test_gist_bad_plant_date_and_missing_capacity_sheet(tmp_path: Path) -> None:
    plants = write(tmp_path / "x_plants.csv", GIST, [steel(), steel(**{
        "Plant ID": "P2", "Retired date": "soon"})])
    with pytest.raises(InputError, match=r"x_capacity_by_status\.csv is not beside it"):
        load_gist(plants)
    capacity = write(tmp_path / "other.csv", GIST_STATUS, [status_row("P100", "operating", "1")])
    with pytest.raises(InputError, match="not a date") as err:
        load_gist(plants, capacity)
    assert (err.value.row, err.value.field) == (2, "Retired date")


def test_gcpt_units_roll_up_into_plants(tmp_path: Path) -> None:
    path = write(tmp_path / "gem_gcpt_2023-07_china_coal_units.csv", GCPT, [
        coal("G1", "L1", "retired", "125.0", **{"Start year": "1972.0", "Retired year": "2007.0",
                                                "Owner": "Huainan Power"}),
        coal("G2", "L1", "operating", "320.0", **{"Start year": "1993.0", "Latitude": "32.75"}),
        coal("G3", "L1", "operating", "320.0", **{"Start year": "1994.0"}),
        coal("G4", "L1", "construction", "660.0", **{"Start year": "2025.0"}),
        coal("G5", "L2", "retired", "50.0", **{"Start year": "1980.0", "Retired year": "2010.0",
                                               "Plant name (local)": ""}),
        coal("G6", "L2", "retired", "50.0", **{"Start year": "", "Retired year": "2015.0"}),
        coal("G7", "L3", "cancelled", "1000.0"),
    ])
    table = load_gcpt(path)
    plants = table.layer.set_index("id")
    l1, l2, l3 = (plants.loc[f"gem:L{n}"] for n in (1, 2, 3))
    # operating if any unit operates; capacity of the operating units only
    assert (l1["status"], l1["capacity"], l1["capacity_unit"]) == ("operating", 640, "MW")
    assert (l1["name"], l1["name_en"], l1["industry"]) == ("电厂L1", "Plant L1", "coal_power")
    assert (l1["start_date"], l1["retired_date"]) == ("1972", "")  # earliest unit that ran
    assert l1["owner"] == "Huainan Power; Datang"
    assert l1.geometry.y == 32.75  # the point of its first operating unit
    assert (l1["county"], l1["city"], l1["province"]) == ("Tianjia'an", "Huainan", "Anhui")
    # all retired: the retired capacity, retired when the last unit was
    assert (l2["status"], l2["capacity"], l2["retired_date"]) == ("retired", 100, "2015")
    assert l2["name"] == "Plant L2"  # no local name
    assert (l3["status"], l3["capacity"], l3["start_date"]) == ("cancelled", 1000, "")
    # every unit is kept; every row is a plant or a merged report row
    assert len(table.units) == 7 and len(table.layer) + len(table.report) == 7
    units = table.units.set_index("unit_id")
    assert units.loc["gem:G1", ["enterprise_id", "status", "start_date", "retired_date",
                                "capacity"]].tolist() == ["gem:L1", "retired", "1972", "2007",
                                                          125]
    merged = table.report.set_index("id")
    assert list(merged.index) == ["gem:G1", "gem:G3", "gem:G4", "gem:G6"]
    assert set(merged["status"]) == {"merged"}
    assert merged.loc["gem:G1", "other_id"] == "gem:L1"
    assert merged.loc["gem:G1", "row"] == 1
    assert merged.loc["gem:G1", "distance_km"] == pytest.approx(11.1, abs=0.1)


@pytest.mark.parametrize(("bad", "row", "field"), [
    ({"Start year": "19x3"}, 2, "Start year"),
    ({"GEM unit/phase ID": "G1"}, 2, "GEM unit/phase ID"),
    ({"GEM location ID": ""}, 2, "GEM location ID"),
    ({"Longitude": "east"}, 2, "Longitude"),
    ({"Status": "dreaming"}, 2, "Status"),
    ({"Capacity (MW)": "big"}, 2, "Capacity (MW)"),
    ({"Plant name": "", "Plant name (local)": ""}, 2, "Plant name"),
])
def test_bad_coal_rows_name_row_and_field(
    tmp_path: Path, bad: dict[str, str], row: int, field: str
) -> None:
    path = write(tmp_path / "coal.csv", GCPT, [coal("G1", "L1", "operating", "300"),
                                               coal("G2", "L1", "operating", "300", **bad)])
    with pytest.raises(InputError) as err:
        load_gcpt(path)
    assert (err.value.row, err.value.field) == (row, field)


def test_gci_chemical_plants_and_coke_oven_gas(tmp_path: Path) -> None:
    path = write(tmp_path / "gem_gci_2025-11_china_chemical_plants.csv", GCI, [
        chemical(**{"Feedstock": "carbon dioxide; coke oven gas"}),
        chemical(**{"GEM plant ID": "P8", "Plant name (other language)": "煤化工 (Chinese)",
                    "Primary products": "ammonia; methanol", "Feedstock": "coke; crude oil"}),
    ])
    table = load_gci(path)
    coking, coal = table.layer.iloc[0], table.layer.iloc[1]
    assert coking["name"] == "孝义市晋茂化工有限公司"  # no U+200C, no language tag
    assert (coking["industry"], coking["coking"], coking["products"]) == (
        "coking", 1, "methanol")
    assert (coking["owner"], coking["owner_zh"]) == ("Jinmao Chemical Co", "孝义市晋茂化工有限公司")
    assert (coal["industry"], coal["coking"], coal["products"]) == (
        "chemical", 0, "ammonia; methanol")
    assert (coal["status"], coal["start_date"], coal["capacity_unit"]) == ("", "", "")
    assert coal["data_source"].endswith("Global Chemicals Inventory, November 2025 (CC BY 4.0)")
    bad = write(tmp_path / "bad.csv", GCI, [chemical(), chemical(**{"GEM plant ID": "P8",
                                                                     "lon": "200"})])
    with pytest.raises(InputError) as err:
        load_gci(bad)
    assert (err.value.row, err.value.field) == (2, "lon")


def test_layout_is_detected_from_the_header(tmp_path: Path) -> None:
    cement_file = write(tmp_path / "a.csv", GCCT, [cement()])
    coal_file = write(tmp_path / "b.csv", GCPT, [coal("G1", "L1", "operating", "300")])
    chemical_file = write(tmp_path / "c.csv", GCI, [chemical()])
    steel_file = gist_files(tmp_path, [status_row("P100", "operating", "2000")])
    wri = write(tmp_path / "d.csv", WRI, [{
        "Power Plant ID": "7", "Name": "Hefei", "Fuel": "Coal", "Capacity (MW)": "600",
        "Commissioning Date": "1992-2006", "Operational Status": "Shutdown",
        "Latitude": "31.8", "Longitude": "117.2"}])
    industries = {p.name: set(load_plants(p).layer["industry"]) for p in (
        cement_file, coal_file, chemical_file, steel_file, wri)}
    assert industries == {"a.csv": {"cement"}, "b.csv": {"coal_power"}, "c.csv": {"chemical"},
                          steel_file.name: {"steel"}, "d.csv": {"coal_power"}}
    hefei = load_plants(wri)
    assert hefei.layer[["status", "start_date", "source_ids"]].values.tolist() == [
        ["retired", "1992", "wri:7"]]
    assert hefei.units[["unit_id", "capacity", "status"]].values.tolist() == [
        ["wri:7", 600, "retired"]]
    with pytest.raises(InputError, match="load the plant sheet beside it"):
        load_plants(tmp_path / "gem_gist_2025-12_china_steel_capacity_by_status.csv")
    other = tmp_path / "other.csv"
    other.write_text("name,lat,lon\nA,1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"unknown plant table layout.*GCCT cement plants: "
                                         r"GEM Plant ID, Operating status"):
        load_plants(other)


def test_wri_status_must_be_known(tmp_path: Path) -> None:
    path = write(tmp_path / "wri.csv", WRI, [{
        "Power Plant ID": "7", "Name": "Hefei", "Fuel": "Coal", "Operational Status": "Maybe",
        "Latitude": "31.8", "Longitude": "117.2"}])
    with pytest.raises(InputError, match="unknown status 'Maybe'") as err:
        load_wri_power(path)
    assert (err.value.row, err.value.field) == (1, "Operational Status")


def test_combine_keeps_the_same_id_from_two_sources(tmp_path: Path) -> None:
    gist = load_gist(gist_files(tmp_path, [status_row("P100", "operating", "2000")]))
    gspt = load_plants(write(tmp_path / "gspt.csv", [
        "Plant ID", "plant_name_en", "plant_name_zh", "Status", "start_date", "lat", "lon"], [
        {"Plant ID": "P100", "plant_name_en": "Xinyang Steel", "plant_name_zh": "信阳钢铁",
         "Status": "operating", "start_date": "1971", "lat": "32.49", "lon": "114.04"}]))
    combined = combine_tables([gist, gspt])
    assert sorted(combined.layer.loc[combined.layer["id"] == "gem:P100", "source_ids"]) == [
        "gem:P100", "gspt:P100"]
    assert len(combined.units) == len(gist.units) + 1
    assert set(combined.units["source_id"]) == {"gem:P100", "gem:P200", "gem:P300",
                                                "gspt:P100"}
    with pytest.raises(ValueError, match="not unique: gem:P100"):
        combine_tables([gist, gist])


def test_trackers_pair_the_gist_capacity_sheet_with_its_plants(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    plants = gist_files(tmp_path / "a", [status_row("P100", "operating", "2000")])
    elsewhere = write(tmp_path / "gem_gist_2025-12_china_steel_capacity_by_status.csv",
                      GIST_STATUS, [status_row("P100", "retired", "700")])
    cement_file = write(tmp_path / "cement.csv", GCCT, [cement()])
    table = load_trackers([elsewhere, plants, cement_file])  # the sheet given, not the one beside
    assert sorted(table.units["unit_id"]) == ["gem:P1", "gem:P100#retired", "gem:P200#unknown",
                                              "gem:P300#unknown"]
    assert set(table.layer["industry"]) == {"steel", "cement"}
    with pytest.raises(InputError, match="without its plant table") as err:
        load_trackers([cement_file, elsewhere])
    assert Path(err.value.file) == elsewhere
