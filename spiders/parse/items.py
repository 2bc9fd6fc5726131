"""The items a crawl hands over, one JSON object a line of `items.jsonl`: typed, and validated where they cross
into the warehouse (`warehouse.stage`), so a malformed items file is refused naming its line instead of
failing somewhere in the load.

Five kinds, told apart by `kind`:
- `fetch`: every URL the run asked for, with its outcome (and where its response sits in the WARC archive);
- `quarantine`: a page that was fetched but could not be used, with a reason code;
- `hub_page`: one parsed hub page (a `HubPage`);
- `hub_json`: one parsed JSON twin (a `HubJson`);
- `links`: the hub links one fetched page carries (discovery: `spiders.parse.links`), and the links refused.

The payload records are the parsers' own dataclasses (`spiders.parse.records`), validated field by field.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from schema.errors import CitehubError
from spiders.parse.records import HubJson, HubPage

# The outcomes a fetch row may carry (the `fetch` table's check constraint holds the same list).
FetchOutcome = Literal["parsed", "not_modified", "quarantined", "failed", "skipped", "deferred"]


class BadItem(CitehubError, ValueError):
    """One line of an items file that is not a valid item; the message says which field and why."""


class _Item(BaseModel):
    # Stamped by the crawl's pipelines (run, parser version); other keys of an older archive are kept as is.
    model_config = ConfigDict(extra="allow")

    url: str
    hub_uuid: str | None = None
    status: int | None = None
    fetched_at: str
    run_id: str | None = None
    parser_version: str | None = None


class FetchItem(_Item):
    kind: Literal["fetch"]
    outcome: FetchOutcome
    error: str | None = None
    sha256: str | None = None
    bytes: int = Field(0, ge=0)
    warc_file: str | None = None
    warc_offset: int | None = Field(None, ge=0)
    etag: str | None = None
    last_modified: str | None = None


class QuarantineItem(_Item):
    kind: Literal["quarantine"]
    reason: str
    detail: str = ""


class PageItem(_Item):
    kind: Literal["hub_page"]
    hub_uuid: str
    page: HubPage


class TwinItem(_Item):
    kind: Literal["hub_json"]
    hub_uuid: str
    json_: HubJson = Field(alias="json")


UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class FoundLink(BaseModel):
    hub_uuid: str = Field(pattern=UUID_PATTERN)
    url: str
    block: Literal["co_cited", "references", "other"]


class RefusedLink(BaseModel):
    href: str = Field(max_length=500)
    reason: str


class LinksItem(_Item):
    """The hub links of the page at `url` (whose own hub is `hub_uuid`, None for a paper page)."""

    kind: Literal["links"]
    hubs: list[FoundLink] = Field(max_length=5000)
    bad: list[RefusedLink] = Field(default_factory=list, max_length=200)
    dropped: int = Field(0, ge=0)


Item = Annotated[FetchItem | QuarantineItem | PageItem | TwinItem | LinksItem, Field(discriminator="kind")]
ITEM_KINDS = ("fetch", "quarantine", "hub_page", "hub_json", "links")
LINK_KINDS = ("links",)  # read by the frontier (warehouse.frontier), not by the hub-batched load

_ITEM = TypeAdapter(Item)


def validate_item(item: object) -> FetchItem | QuarantineItem | PageItem | TwinItem | LinksItem:
    """The typed item a decoded line of an items file holds; `BadItem` (one line of text) when it holds none."""
    try:
        return _ITEM.validate_python(item)
    except ValidationError as exc:
        raise BadItem(_first_problem(exc)) from None


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    loc = error["loc"][1:] if error["loc"][:1] and error["loc"][0] in ITEM_KINDS else error["loc"]
    where = ".".join(str(part) for part in loc)  # the kind is the item's own, named by the caller
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where or 'item'}: {error['msg']}{more}"
