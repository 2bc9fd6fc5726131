"""run statuses: blocked (the publish guard refused the run) and abandoned (its process died)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:00:00

Only the CHECK constraint `ck_run_status` widens; no row changes. PostgreSQL replaces the constraint.
SQLite cannot alter a constraint, and a batch copy of `run` would fight the foreign keys and views that
name it: the constraint's text is rewritten in the schema instead, the procedure SQLite documents for
loosening a constraint without touching stored rows (https://sqlite.org/lang_altertable.html, section 7;
the schema cookie is bumped by a throwaway DDL statement instead of a formatted PRAGMA).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("running", "completed", "failed", "skipped")
NEW = (*OLD, "blocked", "abandoned")
OLD_COMMENT = "running, completed, failed, or skipped (another run held the lock)."
NEW_COMMENT = (
    "running, completed, failed, skipped (another run held the lock), blocked (the publish guard "
    "refused an abnormal change) or abandoned (its process died)."
)


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
    op.execute("UPDATE run SET status = 'failed' WHERE status IN ('blocked', 'abandoned')")
    _replace(NEW, OLD, NEW_COMMENT, OLD_COMMENT)
