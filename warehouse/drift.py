"""Layout drift between templates: a hub page served in the legacy template while the hub is current.

pith.science moved hubs from the legacy template (no label, no role or polarity anywhere) to the current
one, never back. A legacy page of a hub whose other pages in the same run are current, or whose last
complete load was current, is a stale or broken deploy, not the hub: read as it is, it would load every
citation with no role. `clean` quarantines such a hub (reason `layout_drift`) and keeps its last good data.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine, select

from schema.tables import hub

REASON = "layout_drift"


def known_templates(engine: Engine) -> dict[str, str]:
    """Each hub's template as the warehouse last loaded it completely (hub.template)."""
    with engine.connect() as conn:
        rows = conn.execute(select(hub.c.hub_uuid, hub.c.template).where(hub.c.template.is_not(None)))
        return dict(rows)


def drifted_hubs(seen: Mapping[str, Mapping[str, str]], known: Mapping[str, str]) -> dict[str, str]:
    """Hubs whose pages drifted: `seen` is hub -> page URL -> template this run; returns hub -> why."""
    out: dict[str, str] = {}
    for uuid, pages in seen.items():
        legacy = sorted(url for url, template in pages.items() if template == "legacy")
        if not legacy:
            continue
        current = len(pages) - len(legacy)
        if current:
            out[uuid] = (
                f"{len(legacy)} page(s) in the legacy template, {current} current in the same run: "
                + ", ".join(legacy[:3])
            )
        elif known.get(uuid) == "current":
            out[uuid] = "legacy template served for a hub last loaded current: " + ", ".join(legacy[:3])
    return out
