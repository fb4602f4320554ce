"""Deliveries name their message: the platform's reference to the message that
showed each sent paper (its channel's id, its own id, a link to it), for
``/papers why`` to say where a paper was posted.

Rows already in the ledger keep NULL: no table held a message's reference
before this revision (the Slack tables are the installation store's, the
ratings keep no message), so there is nothing to fill them from.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns with no default: an ALTER TABLE ... ADD COLUMN on both
    # engines, which rewrites no row.
    op.add_column("deliveries", sa.Column("message_channel", sa.String(200), nullable=True))
    op.add_column("deliveries", sa.Column("message_id", sa.String(200), nullable=True))
    op.add_column("deliveries", sa.Column("message_link", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("message_link")
        batch.drop_column("message_id")
        batch.drop_column("message_channel")
