"""The incrementally maintained marts against a full rebuild, table by table.

`differences(engine, run_id)` reads every mart as the warehouse holds it, rebuilds every mart in full from the
reference SQL (`warehouse/marts/<mart>.sql`) inside a transaction it rolls back, reads them again and returns,
per mart that differs, the rows only one side has. The `run_id` bookkeeping column is left out (it names the
run that last (re)computed a row); `run_id` in a key (change_report, coverage) is compared. Nothing is
written: the warehouse is as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from warehouse.materialize import MARTS
from warehouse.rebuild import compared_columns, rebuild_with_drift


def _rows(conn, table) -> list[tuple[Any, ...]]:
    return sorted((tuple(r) for r in conn.execute(select(*compared_columns(table)))), key=repr)


def differences(engine: Engine, run_id: str) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Per mart whose maintained rows differ from its full rebuild: `maintained_only` and `rebuild_only` rows.
    Also checks that `warehouse.rebuild`'s own drift report agrees (no drift exactly when no difference)."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            maintained = {t.name: _rows(conn, t) for t in MARTS}
            drift = rebuild_with_drift(conn, run_id)
            rebuilt = {t.name: _rows(conn, t) for t in MARTS}
        finally:
            transaction.rollback()
    out = {}
    for name in maintained:
        if maintained[name] != rebuilt[name]:
            before, after = set(maintained[name]), set(rebuilt[name])
            out[name] = {
                "maintained_only": sorted(before - after, key=repr),
                "rebuild_only": sorted(after - before, key=repr),
            }
    assert set(drift) == set(out), (sorted(drift), sorted(out))
    return out


def recomputed(engine: Engine, table: str, run_id: str) -> int:
    """Rows of a mart that `run_id` (re)computed."""
    from sqlalchemy import func

    from schema.tables import metadata

    t = metadata.tables[table]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t).where(t.c.run_id == run_id)).scalar_one()
