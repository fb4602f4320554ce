"""Reading lists: the papers a channel saved, who saved each, who has read it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_papers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.Integer(),
                  sa.ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
        sa.Column("paper_id", sa.String(length=64), sa.ForeignKey("papers.id"), nullable=False),
        sa.Column("saved_by", sa.String(100), nullable=False),
        sa.Column("saved_by_name", sa.String(200), nullable=False),
        sa.Column("saved_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("channel_id", "paper_id", name="uq_saved_papers_channel_paper"),
    )
    op.create_table(
        "paper_reads",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("saved_id", sa.Integer(),
                  sa.ForeignKey("saved_papers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("read_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("saved_id", "user_id", name="uq_paper_reads_saved_user"),
    )


def downgrade() -> None:
    op.drop_table("paper_reads")
    op.drop_table("saved_papers")
