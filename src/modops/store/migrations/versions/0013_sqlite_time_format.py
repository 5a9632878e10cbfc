"""SQLite: every stored time in one text form, ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC).

Raw-SQL writes went through sqlite3's default datetime adapter (``isoformat(" ")``), which
drops the fraction when it is zero, while ORM writes always carry six digits; some paths
wrote ``T`` as the separator. Both sort and compare wrongly as text, and a plain pandas
``parse_dates`` read 78 of 970 finalized items. This rewrites every DATETIME column of
every table: a trailing ``Z`` dropped, ``T`` → space, a missing or short fraction padded to
six digits. New writes use one adapter (``modops.domain.times.sqlite_time``). PostgreSQL
stores timestamps natively: no-op.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    insp = sa.inspect(bind)
    for table in insp.get_table_names():
        if table.startswith("sqlite_") or table == "alembic_version":
            continue
        for col in insp.get_columns(table):
            if "DATETIME" not in str(col["type"]).upper() and \
                    "TIMESTAMP" not in str(col["type"]).upper():
                continue
            c = f'"{col["name"]}"'
            t = f'"{table}"'
            bind.execute(sa.text(
                f"UPDATE {t} SET {c} = substr({c}, 1, length({c}) - 1) "
                f"WHERE typeof({c}) = 'text' AND {c} LIKE '%Z'"))
            bind.execute(sa.text(
                f"UPDATE {t} SET {c} = replace({c}, 'T', ' ') "
                f"WHERE typeof({c}) = 'text' AND substr({c}, 11, 1) = 'T'"))
            bind.execute(sa.text(
                f"UPDATE {t} SET {c} = {c} || '.000000' "
                f"WHERE typeof({c}) = 'text' AND length({c}) = 19"))
            bind.execute(sa.text(
                f"UPDATE {t} SET {c} = {c} || substr('000000', 1, 26 - length({c})) "
                f"WHERE typeof({c}) = 'text' AND length({c}) BETWEEN 21 AND 25 "
                f"AND substr({c}, 20, 1) = '.'"))


def downgrade() -> None:
    pass  # the normalised text is valid for every earlier revision
