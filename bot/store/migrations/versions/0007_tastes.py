"""Tastes: what each channel's votes taught its ranking (bot.digest.taste).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tastes",
        sa.Column("channel_id", sa.Integer(),
                  sa.ForeignKey("channels.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("liked", sa.Integer(), nullable=False),
        sa.Column("disliked", sa.Integer(), nullable=False),
        sa.Column("idle", sa.Text(), nullable=True),
        sa.Column("votes_since", bot.store.models.UTCDateTime(), nullable=True),
        sa.Column("updated_at", bot.store.models.UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tastes")
