"""The JSON twin `/citations/<uuid>.json` -> HubJson. Keys we do not model land in `extra` verbatim,
under their dotted path ("work.authors", "hub.state.tier_reason_v2", "top_level_key")."""

from __future__ import annotations

import json
from typing import Any

from spiders.parse.records import HubJson, ParseError, check_ranges, is_number
from spiders.parse.urls import hub_json_url

_WORK_FIELDS = {"id", "title", "arxiv_id", "doi", "year", "venue", "updated_at"}
_STATE_FIELDS = {
    "tier",
    "tier_reason",
    "pith_inbound_count",
    "external_cited_by_count",
    "distinct_field_count",
    "first_pith_cited_at",
    "last_pith_cited_at",
}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and is_number(value.strip()):
        return int(value)
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_hub_json(body: bytes | str, url: str) -> HubJson:
    hub_uuid = hub_json_url(url)
    try:
        data = json.loads(body)
    except (ValueError, TypeError) as err:  # JSONDecodeError and undecodable bytes are ValueErrors
        raise ParseError("bad_json", str(err)) from None
    except RecursionError:  # nested deeper than the interpreter's stack: no twin is shaped like that
        raise ParseError("bad_json", "nested too deeply") from None
    work = data.get("work") if isinstance(data, dict) else None
    if not isinstance(work, dict) or not isinstance(work.get("id"), str):
        raise ParseError("bad_json", "no work.id")
    if work["id"].lower() != hub_uuid:
        raise ParseError("uuid_mismatch", f"work.id {work['id']} at {url}")
    hub: dict[str, Any] = raw_hub if isinstance(raw_hub := data.get("hub"), dict) else {}
    state: dict[str, Any] = raw_state if isinstance(raw_state := hub.get("state"), dict) else {}

    extra: dict[str, Any] = {}
    for key, value in data.items():
        if key not in ("work", "hub") or (key == "hub" and not isinstance(value, dict)):
            extra[key] = value
    extra.update({f"work.{k}": v for k, v in work.items() if k not in _WORK_FIELDS})
    extra.update({f"hub.{k}": v for k, v in hub.items() if k != "state" or not isinstance(v, dict)})
    extra.update({f"hub.state.{k}": v for k, v in state.items() if k not in _STATE_FIELDS})

    return check_ranges(
        HubJson(
            hub_uuid=hub_uuid,
            title=_str(work.get("title")),
            arxiv_id=_str(work.get("arxiv_id")),
            doi=_str(work.get("doi")),
            year=_int(work.get("year")),
            venue=_str(work.get("venue")),
            external_cited_by_count=_int(state.get("external_cited_by_count")),
            tier=_str(state.get("tier")),
            tier_reason=_str(state.get("tier_reason")),
            pith_inbound_count=_int(state.get("pith_inbound_count")),
            distinct_field_count=_int(state.get("distinct_field_count")),
            first_pith_cited_at=_str(state.get("first_pith_cited_at")),
            last_pith_cited_at=_str(state.get("last_pith_cited_at")),
            updated_at=_str(work.get("updated_at")),
            extra=extra,
        )
    )
