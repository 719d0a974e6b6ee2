"""Every product profile loads and validates; the ECOCROP sets match the shipped table."""

from __future__ import annotations

import csv

import pytest

from gies.config.products import load_profile

PRODUCTS = ["cocoa", "sorghum", "date_palm", "sweet_cherry", "olive", "jackfruit", "banana",
            "mango", "arabica_coffee", "quinoa", "walnut", "apricot", "cassava"]
SCIENT = {"date_palm": "Phoenix dactylifera L.", "sweet_cherry": "Prunus avium L.",
          "olive": "Olea europaea L.", "jackfruit": "Artocarpus heterophyllus L.",
          "banana": "Musa acuminata Colla", "mango": "Mangifera indica L.",
          "arabica_coffee": "Coffea arabica L.", "quinoa": "Chenopodium quinoa Willden.",
          "walnut": "Juglans regia L.", "apricot": "Prunus armeniaca L.",
          "cassava": "Manihot esculenta Crantz.", "cocoa": "Theobroma cacao L."}


def test_every_profile_file_loads(repo):
    files = sorted((repo / "gies/data/products").glob("*.yaml"))
    assert {f.stem for f in files} >= set(PRODUCTS)
    for f in files:
        load_profile(f)


@pytest.mark.parametrize("product", sorted(SCIENT))
def test_ecocrop_set_matches_table(repo, product):
    rows = {r["SCIENTNAME"]: r for r in csv.DictReader(
        open(repo / "data/sample/tables/ecocrop_Recocrop_parameters.csv", encoding="utf-8"))}
    row = rows[SCIENT[product]]
    p = load_profile(repo / f"gies/data/products/{product}.yaml")
    lim = p.limit_sets["ecocrop"].limits
    assert lim["temperature"] == [float(row[k]) for k in ("TMIN", "TOPMN", "TOPMX", "TMAX")]
    assert lim["rainfall"] == [float(row[k]) for k in ("RMIN", "ROPMN", "ROPMX", "RMAX")]
    assert lim["ph"] == [float(row[k]) for k in ("PHMIN", "PHOPMN", "PHOPMX", "PHMAX")]
    assert ("elevation" in lim) == (product != "sweet_cherry")


@pytest.mark.parametrize("product", ["banana", "mango", "olive", "arabica_coffee", "cassava",
                                     "cocoa"])
def test_sys_sets_parse(repo, product):
    p = load_profile(repo / f"gies/data/products/{product}.yaml")
    assert "sys1993-alues" in p.limit_sets and "sys1993-alues" in p.sources
    for factor in p.limit_sets["sys1993-alues"].limits:
        p.class_limits("sys1993-alues", factor)


def test_cocoa_existing_sets_unchanged(repo):
    p = load_profile(repo / "gies/data/products/cocoa.yaml")
    assert p.limit_sets["ecocrop"].limits["temperature"] == [10, 21, 32, 38]
    assert p.class_limits("lumens", "ph").as_table() == {
        "S1": ["6.0-7.0"], "S2": ["5.5-6.0", "7.0-7.6"], "S3": ["5.5<", ">7.6"]}
    assert p.limit_sets["sys1993-alues"].limits["ph"]["S1"] == ["6-7"]


def test_template_is_not_a_profile(repo):
    t = repo / "gies/data/products/TEMPLATE_user_supplied.yaml.txt"
    assert t.exists() and "Elettaria" in t.read_text()
    assert not (repo / "gies/data/products/large_cardamom.yaml").exists()
