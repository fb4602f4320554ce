"""Ratings: what people in a channel said of a paper (relevant, or not for us).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.Integer(),
                  sa.ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
        sa.Column("paper_id", sa.String(length=64), sa.ForeignKey("papers.id"), nullable=False),
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("vote", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("channel_id", "paper_id", "user_id",
                            name="uq_ratings_channel_paper_user"),
    )


def downgrade() -> None:
    op.drop_table("ratings")
