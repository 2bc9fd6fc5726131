"""The load floors' figure line and the staged-items read it adds (bench.stages)."""

from __future__ import annotations

from bench.stages import Floor, staged_read_floor
from tests.warehouse.conftest import two_hub_items, write_items


def test_the_floor_line_adds_the_read_to_the_write():
    # 1,000 rows: written alone in 2 s, after a 3 s read in 5 s, against a 1 s baseline
    assert Floor("load-sqlite", 1000, 2.0, 1.0, 3.0).line() == (
        "floor load-sqlite: warehouse tables alone 500.0 rows/s, baseline 1,000.0 rows/s, ratio 0.50; "
        "after reading the staged items (3.00 s) 200.0 rows/s, ratio 0.20"
    )


def test_the_read_floor_reads_back_every_staged_item(tmp_path):
    write_items(tmp_path / "items.jsonl", two_hub_items())
    # it also raises when the load's reader gives back another number of items than were staged
    seconds, items = staged_read_floor(f"sqlite:///{tmp_path / 'read.sqlite'}", tmp_path)
    assert items == len(two_hub_items())
    assert 0 < seconds < 30
