from leo.reference import REGIONS, la_to_region, local_authorities, region_of


def test_every_region_has_local_authorities_with_unique_codes() -> None:
    las = local_authorities()
    codes = [la.la_code for la in las]
    assert len(codes) == len(set(codes)) > 100
    assert {la.region_code for la in las} == set(REGIONS)
    assert all(c[:3] in {"E06", "E08", "E09", "E10"} and len(c) == 9 for c in codes)


def test_region_of() -> None:
    assert region_of("E08000035") == "E12000003"  # Leeds: Yorkshire and The Humber
    assert region_of("E09000007") == "E12000007"  # Camden: London
    assert region_of("E99999999") is None
    assert region_of(None) is None
    assert len(la_to_region()) == len(local_authorities())
