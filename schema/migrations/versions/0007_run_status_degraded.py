"""run status degraded: the run published, but some hubs were fetched incompletely

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 14:00:00

Only the CHECK constraint `ck_run_status` widens, as in 0004 (same procedure on both engines).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("running", "completed", "failed", "skipped", "blocked", "abandoned")
NEW = (*OLD, "degraded")
OLD_COMMENT = (
    "running, completed, failed, skipped (another run held the lock), blocked (the publish guard "
    "refused an abnormal change) or abandoned (its process died)."
)
NEW_COMMENT = (
    "running, completed, degraded (published, some hubs incomplete), failed, skipped (another run held the "
    "lock), blocked (the publish guard refused an abnormal change) or abandoned (its process died)."
)


# A migration is frozen once released: 0004's procedure is repeated here, not imported.
def _check(values: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _sqlite_rewrite(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    conn = op.get_bind()
    sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'run'").scalar_one()
    if _check(old) not in sql:
        raise RuntimeError(f"run table's status constraint is not {_check(old)!r}: {sql}")
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'run'",
        (sql.replace(_check(old), _check(new)),),
    )
    # Other connections must reload the schema: any DDL bumps the schema cookie they check. This one
    # reloads it on RESET (which also turns writable_schema off).
    conn.exec_driver_sql("CREATE TABLE citehub_schema_bump (x INTEGER)")
    conn.exec_driver_sql("DROP TABLE citehub_schema_bump")
    conn.exec_driver_sql("PRAGMA writable_schema = RESET")


def _replace(old: tuple[str, ...], new: tuple[str, ...], old_comment: str, new_comment: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite(old, new)
        return
    op.drop_constraint(op.f("ck_run_status"), "run", type_="check")
    op.create_check_constraint(op.f("ck_run_status"), "run", _check(new))
    op.alter_column("run", "status", comment=new_comment, existing_comment=old_comment, existing_nullable=False)


def upgrade() -> None:
    _replace(OLD, NEW, OLD_COMMENT, NEW_COMMENT)


def downgrade() -> None:
    op.execute("UPDATE run SET status = 'completed' WHERE status = 'degraded'")
    _replace(NEW, OLD, NEW_COMMENT, OLD_COMMENT)
