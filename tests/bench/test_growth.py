"""bench/growth.py: the growth section compares the smallest and largest recorded sizes exactly."""

import json

from bench.growth import growth_heading, growth_section


def _record(folder, hubs, parse, nightly_s, flow_mb, parse_baseline=1.0):
    (folder / f"hubs-{hubs}-density-1.json").write_text(
        json.dumps(
            {
                "hubs": hubs,
                "stages": {"parse": {"citehub": parse, "baseline": parse_baseline, "unit": "pages"}},
                "seconds": {"full nightly": nightly_s},
                "rss_mb": {"nightly flow process": flow_mb, "bench harness (holds rows)": flow_mb * 3},
            }
        )
    )


def test_one_size_writes_nothing(tmp_path):
    _record(tmp_path, 2000, 1000.0, 60.0, 200.0)
    assert growth_section(tmp_path) is None


def test_two_sizes_compared(tmp_path):
    _record(tmp_path, 2000, 1000.0, 60.0, 200.0)
    _record(tmp_path, 10000, 800.0, 280.0, 230.0, parse_baseline=0.9)
    lines = growth_section(tmp_path).splitlines()
    assert lines[0] == growth_heading(1.0)
    # parse: 25% more time per page at the large size, where its baseline too took 11% more (the machine
    # drifted): (1000 / 1) / (800 / 0.9) = 1.125 against the same-run baseline; nightly: 280 / 60 / 5 = 0.93
    assert "| parse | 1,000.0 pages/s | 800.0 pages/s | 1.25 | 1.12 | no |" in lines
    assert "| full nightly (wall) | 60.0 s | 280.0 s | 0.93 | — | yes |" in lines
    # 230 / 200 = +15%: over the 10% limit
    assert "| nightly flow process | 200 MB | 230 MB | x1.15 | no |" in lines
    assert "| bench harness (holds rows) | 600 MB | 690 MB | x1.15 | n/a (harness) |" in lines


def test_largest_and_smallest_of_three(tmp_path):
    _record(tmp_path, 2000, 1000.0, 60.0, 200.0)
    _record(tmp_path, 5000, 1.0, 1.0, 1.0)
    _record(tmp_path, 10000, 1000.0, 300.0, 210.0)
    text = growth_section(tmp_path)
    assert "2,000 hubs -> 10,000 hubs (x5)" in text
    assert "| nightly flow process | 200 MB | 210 MB | x1.05 | yes |" in text


def test_only_runs_of_one_density_are_compared(tmp_path):
    # a 10,000-hub run at density 1 and a 2,000-hub run at density 5 measure different sites
    _record(tmp_path, 10000, 800.0, 280.0, 230.0)
    (tmp_path / "hubs-2000-density-5.json").write_text(
        json.dumps({"hubs": 2000, "density": 5.0, "stages": {}, "seconds": {}, "rss_mb": {}})
    )
    assert growth_section(tmp_path, 5.0) is None
    assert growth_section(tmp_path, 1.0) is None
