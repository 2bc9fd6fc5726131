"""hub spells: hub figures and facet counts kept as spells, not copied forward by every run

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 19:40:00

`hub_snapshot` and `hub_facet_count` held one row per hub and run that saw it, a hub whose twin answered
"not modified" included (its latest snapshot was copied to the run): a quiet night wrote as many rows as the
warehouse held hubs and facet values. They become spells the way `citation_version` keeps edges:
`hub_version` (one row per stretch of unchanged figures; an incomplete fetch always opens one of its own) and
`hub_facet_version` (one row per stretch of an unchanged count of one facet value).

The marts a run now keeps incrementally say so in their `run_id` comment, and the papers' current edges get an
index (`ix_citation_current_paper`) so those marts read a changed paper's edges by key.

The history of an existing warehouse is converted in place: each hub's snapshots in run order (run start,
then run id), a snapshot equal to the one before (and complete) continuing its spell; each facet value's
counts the same way, a snapshot that no longer shows a value closing it. `hub_as_of` reads the spells and
answers every run with the same figures; its `snapshot_run` is now the run that opened the spell. The
downgrade writes one snapshot per spell (the copies of unchanged runs are not made back).
`hub_change.last_complete_run` (the latest run that fetched the hub completely, a 304 included) comes from the
latest complete snapshot: the JSON-twin validators and the staleness table read it; the published
`hub_summary.last_complete_run` shows it to readers (who used to find it in the per-run snapshots).
"""

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIGURES = (
    "tier",
    "label",
    "template",
    "headline",
    "headline_role",
    "headline_share",
    "citing_count",
    "classified_count",
    "parsed_count",
    "complete",
)
CHUNK = 5000

OLD_HUB_AS_OF = """
CREATE VIEW hub_as_of AS
SELECT r.run_id AS as_of_run, r.started_at AS as_of_started_at, s.run_id AS snapshot_run,
       s.hub_uuid, s.tier, s.label, s.template, s.headline, s.headline_role, s.headline_share,
       s.citing_count, s.classified_count, s.parsed_count, s.complete
FROM run r
JOIN hub_snapshot s ON 1 = 1
JOIN run sr ON sr.run_id = s.run_id
WHERE sr.started_at <= r.started_at
  AND NOT EXISTS (
    SELECT 1 FROM hub_snapshot s2 JOIN run r2 ON r2.run_id = s2.run_id
    WHERE s2.hub_uuid = s.hub_uuid AND r2.started_at > sr.started_at AND r2.started_at <= r.started_at)
"""

NEW_HUB_AS_OF = """
CREATE VIEW hub_as_of AS
SELECT r.run_id AS as_of_run, r.started_at AS as_of_started_at, v.valid_from_run AS snapshot_run,
       v.hub_uuid, v.tier, v.label, v.template, v.headline, v.headline_role, v.headline_share,
       v.citing_count, v.classified_count, v.parsed_count, v.complete
FROM run r
JOIN hub_version v ON 1 = 1
JOIN run f ON f.run_id = v.valid_from_run
LEFT JOIN run t ON t.run_id = v.valid_to_run
WHERE f.started_at <= r.started_at
  AND (t.run_id IS NULL OR t.started_at > r.started_at)
"""


def _spell(first: str) -> list[sa.Column]:
    return [
        sa.Column("valid_from_run", sa.Text(), nullable=False, comment=f"First run that showed {first}."),
        sa.Column(
            "valid_to_run",
            sa.Text(),
            nullable=True,
            comment="Run from which these values no longer hold (the hub showed others); NULL = current.",
        ),
    ]


def _create_spell_tables() -> None:
    op.create_table(
        "hub_version",
        sa.Column("hub_uuid", sa.Text(), nullable=False, comment="The hub."),
        *_spell("the hub with these figures"),
        sa.Column("tier", sa.Text(), nullable=True, comment="Tier: hub, super_hub, or NULL."),
        sa.Column("label", sa.Text(), nullable=True, comment="Behaviour label."),
        sa.Column("template", sa.Text(), nullable=True, comment="current or legacy."),
        sa.Column("headline", sa.Text(), nullable=True, comment="Headline sentence."),
        sa.Column("headline_role", sa.Text(), nullable=True, comment="Role named by the headline."),
        sa.Column("headline_share", sa.Float(), nullable=True, comment="Its share in percent (0-100)."),
        sa.Column("citing_count", sa.Integer(), nullable=True, comment="Declared citing papers."),
        sa.Column("classified_count", sa.Integer(), nullable=True, comment="Sum of the citation-role summary."),
        sa.Column(
            "parsed_count",
            sa.Integer(),
            nullable=False,
            comment="Distinct citing papers parsed from the hub's unfiltered explorer pages by valid_from_run.",
        ),
        sa.Column(
            "complete",
            sa.Boolean(),
            nullable=False,
            comment="parsed_count = citing_count and no quarantined or failed fetch for the hub in valid_from_run.",
        ),
        sa.PrimaryKeyConstraint("hub_uuid", "valid_from_run", name=op.f("pk_hub_version")),
        comment="History of each hub's figures (tier, label, counts, headline, completeness): one row per spell of "
        "unchanged values, written only by runs whose first unfiltered page of the hub showed a change.",
        info={"layer": "core"},
    )
    op.create_table(
        "hub_facet_version",
        sa.Column("hub_uuid", sa.Text(), nullable=False, comment="The hub."),
        sa.Column(
            "facet",
            sa.Text(),
            nullable=False,
            comment="Block of the page: fields, years, verdicts, roles, polarities (facet blocks), "
            "role_summary or polarity_summary (hub tools).",
        ),
        sa.Column(
            "value",
            sa.Text(),
            nullable=False,
            comment="Facet value as shown, e.g. cs.LG, 2026, CONDITIONAL, background.",
        ),
        *_spell("this count"),
        sa.Column("count", sa.Integer(), nullable=False, comment="Count shown next to the value."),
        sa.PrimaryKeyConstraint("hub_uuid", "facet", "value", "valid_from_run", name=op.f("pk_hub_facet_version")),
        comment="History of each hub's facet and summary counts (global figures, same on filtered pages): one row "
        "per spell of an unchanged count; a value the page no longer shows closes its spell.",
        info={"layer": "core"},
    )


def _ordered(conn: sa.Connection, sql: str) -> Iterator[Any]:
    # options on the statement: Connection.execution_options would set them for every later statement too
    return iter(conn.execute(sa.text(sql).execution_options(stream_results=True, yield_per=CHUNK)).mappings())


def _convert(conn: sa.Connection) -> None:
    """Both per-run tables read once, in the same order (hub, run start, run id), merged hub by hub."""
    versions = sa.table(
        "hub_version", *(sa.column(n) for n in ("hub_uuid", "valid_from_run", "valid_to_run", *FIGURES))
    )
    facet_versions = sa.table(
        "hub_facet_version",
        *(sa.column(n) for n in ("hub_uuid", "facet", "value", "valid_from_run", "valid_to_run", "count")),
    )
    order = " ORDER BY x.hub_uuid, r.started_at, x.run_id"
    snaps = _ordered(conn, "SELECT x.* FROM hub_snapshot x JOIN run r ON r.run_id = x.run_id" + order)
    facet_rows = _ordered(
        conn,
        "SELECT x.run_id, x.hub_uuid, x.facet, x.value, x.count FROM hub_facet_count x "
        "JOIN run r ON r.run_id = x.run_id" + order,
    )
    spells: list[dict[str, Any]] = []
    facet_spells: list[dict[str, Any]] = []
    facet = next(facet_rows, None)
    current: dict[str, Any] | None = None
    open_facets: dict[tuple[str, str], dict[str, Any]] = {}
    for snap in snaps:
        hub, run_id = snap["hub_uuid"], snap["run_id"]
        if current is not None and current["hub_uuid"] != hub:
            current, open_facets = None, {}
            # the previous hub's spells are settled: written a chunk at a time
            if len(spells) >= CHUNK:
                conn.execute(versions.insert(), spells)
                spells = []
            if len(facet_spells) >= CHUNK:
                conn.execute(facet_versions.insert(), facet_spells)
                facet_spells = []
        values = {f: snap[f] for f in FIGURES}
        if current is None or not values["complete"] or any(current[f] != values[f] for f in FIGURES):
            if current is not None:
                current["valid_to_run"] = run_id
            current = {"hub_uuid": hub, "valid_from_run": run_id, "valid_to_run": None, **values}
            spells.append(current)
        # both streams share one order, and facet rows were written with their snapshot: rows of an earlier
        # hub could only be rows without a snapshot (none expected), passed over
        while facet is not None and facet["hub_uuid"] < hub:
            facet = next(facet_rows, None)
        shown: dict[tuple[str, str], int] = {}
        while facet is not None and (facet["hub_uuid"], facet["run_id"]) == (hub, run_id):
            shown[(facet["facet"], facet["value"])] = facet["count"]
            facet = next(facet_rows, None)
        for key in [k for k in open_facets if k not in shown or shown[k] != open_facets[k]["count"]]:
            open_facets.pop(key)["valid_to_run"] = run_id
        for key, count in sorted(shown.items()):
            if key not in open_facets:
                open_facets[key] = {
                    "hub_uuid": hub,
                    "facet": key[0],
                    "value": key[1],
                    "valid_from_run": run_id,
                    "valid_to_run": None,
                    "count": count,
                }
                facet_spells.append(open_facets[key])
    if spells:
        conn.execute(versions.insert(), spells)
    if facet_spells:
        conn.execute(facet_versions.insert(), facet_spells)


# Published comments whose meaning changed: (table, column or None for the table, old, new). PostgreSQL only
# (SQLite keeps no comments).
OLD_SEQ = "Ordinal of snapshot_run among the runs that took snapshots, 1 = oldest."
NEW_SEQ = "Ordinal of snapshot_run among the runs that changed some hub's figures or role summary, 1 = oldest."
COMMENTS = [
    ("hub_growth", "run_seq", OLD_SEQ, NEW_SEQ),
    ("hub_role_history", "run_seq", OLD_SEQ, NEW_SEQ),
    (
        "hub_growth",
        "snapshot_run",
        "Run that fetched the hub and recorded these figures.",
        "Run that showed the hub with these figures (first of their spell).",
    ),
    (
        "hub_role_history",
        "snapshot_run",
        "Run whose citation-role summary this is.",
        "Run that changed the hub's citation-role summary to this.",
    ),
    (
        "hub_growth",
        "prev_run",
        "The hub's previous snapshot run; NULL for its first snapshot.",
        "snapshot_run of the hub's previous row; NULL for its first.",
    ),
    (
        "hub_growth",
        "citing_delta",
        "citing_count minus the previous snapshot's; NULL for the first snapshot.",
        "citing_count minus the previous row's; NULL for the first row.",
    ),
    (
        "hub_growth",
        "tier_changed",
        "True when the tier differs from the previous snapshot.",
        "True when the tier differs from the previous row's.",
    ),
    (
        "hub_growth",
        "label_changed",
        "True when the label differs from the previous snapshot.",
        "True when the label differs from the previous row's.",
    ),
    (
        "hub_growth",
        None,
        "Growth of each hub across runs: one row per hub and run that fetched it, with the change since the hub's "
        "previous snapshot.",
        "Growth of each hub across runs: one row per hub and run that changed its figures (or found it incomplete), "
        "with the change since the hub's previous row.",
    ),
    (
        "hub_role_history",
        None,
        "Role mix of each hub in each run, from the page's citation-role summary (the site's own classified "
        "counts): how a hub's use shifts over time.",
        "Role mix of each hub as of each run that changed it, from the page's citation-role summary (the site's "
        "own classified counts): how a hub's use shifts over time.",
    ),
]
# The marts a run now keeps incrementally: run_id is the run that last (re)computed the row.
COMMENTS += [
    (table, "run_id", "Run that materialized this row.", "Run that last (re)computed this row.")
    for table in (
        "hub_summary",
        "hub_role_mix",
        "hub_polarity_mix",
        "hub_growth",
        "hub_role_history",
        "category_flow",
        "paper_reach",
        "paper_current",
        "citation_current",
    )
]
NOT_NULL = {"run_seq", "snapshot_run", "tier_changed", "label_changed", "run_id"}
CURRENT = sa.text("valid_to_run IS NULL")


def _comments(new: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table_name, column_name, old, new_text in COMMENTS:
        comment, existing = (new_text, old) if new else (old, new_text)
        if column_name is None:
            op.create_table_comment(table_name, comment, existing_comment=existing, schema="marts")
        else:
            op.alter_column(
                table_name,
                column_name,
                comment=comment,
                existing_comment=existing,
                existing_nullable=column_name not in NOT_NULL,
                schema="marts",
            )


def upgrade() -> None:
    conn = op.get_bind()
    _comments(new=True)
    # a paper's current edges by key: the marts refreshed for the papers a run changed read them, not every edge
    op.create_index(
        "ix_citation_current_paper", "citation", ["paper_key"], sqlite_where=CURRENT, postgresql_where=CURRENT
    )
    _create_spell_tables()
    _convert(conn)
    with op.batch_alter_table("hub_change") as batch:
        batch.add_column(
            sa.Column(
                "last_complete_run",
                sa.Text(),
                nullable=True,
                comment="Latest run that fetched it completely (every page parsed, or its twin answered 'not "
                "modified').",
            )
        )
    op.execute(
        "UPDATE hub_change SET last_complete_run = (SELECT MAX(s.run_id) FROM hub_snapshot s "
        "WHERE s.hub_uuid = hub_change.hub_uuid AND s.complete)"
    )
    marts = "marts" if conn.dialect.name == "postgresql" else None
    with op.batch_alter_table("hub_summary", schema=marts) as batch:
        batch.add_column(
            sa.Column(
                "last_complete_run",
                sa.Text(),
                nullable=True,
                comment="Latest run that fetched the hub completely (every page parsed, or its twin answered 'not "
                "modified'): when its figures were last confirmed.",
            )
        )
    op.execute(
        "UPDATE hub_summary SET last_complete_run = (SELECT MAX(s.run_id) FROM hub_snapshot s "
        "WHERE s.hub_uuid = hub_summary.hub_uuid AND s.complete)"
    )
    op.execute("DROP VIEW hub_as_of")
    op.drop_table("hub_facet_count")
    op.drop_table("hub_snapshot")
    op.execute(NEW_HUB_AS_OF)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _comments(new=False)
    op.drop_index("ix_citation_current_paper", "citation")
    op.execute("DROP VIEW hub_as_of")
    op.create_table(
        "hub_snapshot",
        sa.Column("run_id", sa.Text(), nullable=False, comment="Run that fetched the hub."),
        sa.Column("hub_uuid", sa.Text(), nullable=False, comment="The hub."),
        sa.Column("tier", sa.Text(), nullable=True, comment="Tier as shown in this run: hub, super_hub, or NULL."),
        sa.Column("label", sa.Text(), nullable=True, comment="Behaviour label as shown in this run."),
        sa.Column("template", sa.Text(), nullable=True, comment="current or legacy."),
        sa.Column("headline", sa.Text(), nullable=True, comment="Headline sentence as shown in this run."),
        sa.Column("headline_role", sa.Text(), nullable=True, comment="Role named by the headline."),
        sa.Column("headline_share", sa.Float(), nullable=True, comment="Its share in percent (0-100)."),
        sa.Column("citing_count", sa.Integer(), nullable=True, comment="Declared citing papers in this run."),
        sa.Column(
            "classified_count", sa.Integer(), nullable=True, comment="Sum of the citation-role summary in this run."
        ),
        sa.Column(
            "parsed_count",
            sa.Integer(),
            nullable=False,
            comment="Distinct citing papers parsed from the hub's unfiltered explorer pages in this run.",
        ),
        sa.Column(
            "complete",
            sa.Boolean(),
            nullable=False,
            comment="parsed_count = citing_count and no quarantined or failed fetch for the hub in this run.",
        ),
        sa.ForeignKeyConstraint(["run_id"], ["run.run_id"], name=op.f("fk_hub_snapshot_run_id_run")),
        sa.PrimaryKeyConstraint("run_id", "hub_uuid", name=op.f("pk_hub_snapshot")),
        comment="Per-run figures of each hub whose first unfiltered page was parsed: growth and completeness.",
    )
    op.create_table(
        "hub_facet_count",
        sa.Column("run_id", sa.Text(), nullable=False, comment="Run that fetched the hub."),
        sa.Column("hub_uuid", sa.Text(), nullable=False, comment="The hub."),
        sa.Column(
            "facet",
            sa.Text(),
            nullable=False,
            comment="Block of the page: fields, years, verdicts, roles, polarities (facet blocks), "
            "role_summary or polarity_summary (hub tools).",
        ),
        sa.Column(
            "value",
            sa.Text(),
            nullable=False,
            comment="Facet value as shown, e.g. cs.LG, 2026, CONDITIONAL, background.",
        ),
        sa.Column("count", sa.Integer(), nullable=False, comment="Count shown next to the value."),
        sa.ForeignKeyConstraint(["run_id"], ["run.run_id"], name=op.f("fk_hub_facet_count_run_id_run")),
        sa.PrimaryKeyConstraint("run_id", "hub_uuid", "facet", "value", name=op.f("pk_hub_facet_count")),
        comment="Per-run facet and summary counts of each hub (global figures, same on filtered pages).",
    )
    op.execute(
        "INSERT INTO hub_snapshot (run_id, hub_uuid, tier, label, template, headline, headline_role, headline_share, "
        "citing_count, classified_count, parsed_count, complete) "
        "SELECT valid_from_run, hub_uuid, tier, label, template, headline, headline_role, headline_share, "
        "citing_count, classified_count, parsed_count, complete FROM hub_version"
    )
    # a value's count as of each spell start of its hub (facet spells open where figures may not)
    op.execute(
        "INSERT INTO hub_facet_count (run_id, hub_uuid, facet, value, count) "
        "SELECT s.run_id, f.hub_uuid, f.facet, f.value, f.count FROM hub_snapshot s "
        "JOIN run sr ON sr.run_id = s.run_id "
        "JOIN hub_facet_version f ON f.hub_uuid = s.hub_uuid "
        "JOIN run fr ON fr.run_id = f.valid_from_run LEFT JOIN run tr ON tr.run_id = f.valid_to_run "
        "WHERE fr.started_at <= sr.started_at AND (tr.run_id IS NULL OR tr.started_at > sr.started_at)"
    )
    with op.batch_alter_table("hub_change") as batch:
        batch.drop_column("last_complete_run")
    with op.batch_alter_table("hub_summary", schema="marts" if postgres else None) as batch:
        batch.drop_column("last_complete_run")
    op.drop_table("hub_facet_version")
    op.drop_table("hub_version")
    op.execute(OLD_HUB_AS_OF)
