"""Channels, the topics they follow, and the delivery ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(length=40), nullable=False),
        sa.Column("workspace", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("digest_time", sa.String(length=5), nullable=False),
        sa.Column("cadence", sa.String(length=20), nullable=False),
        sa.Column("max_papers", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("created_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.Column("last_digest_at", bot.store.models.UTCDateTime(), nullable=True),
        sa.Column("last_revision", sa.Integer(), nullable=True),
        sa.Column("last_scheduled_on", sa.Date(), nullable=True),
        sa.UniqueConstraint("platform", "workspace", "channel", name="uq_channels_address"),
    )
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "channel_id",
            sa.Integer(),
            sa.ForeignKey("channels.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("channel_id", "query", name="uq_topics_channel_query"),
    )


    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "channel_id",
            sa.Integer(),
            sa.ForeignKey("channels.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("paper_id", sa.String(length=64), sa.ForeignKey("papers.id"), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", bot.store.models.UTCDateTime(), nullable=False),
        sa.Column("sent_at", bot.store.models.UTCDateTime(), nullable=True),
        sa.UniqueConstraint("channel_id", "paper_id", name="uq_deliveries_channel_paper"),
    )
    op.create_index("ix_deliveries_channel_status", "deliveries", ["channel_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_channel_status", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("topics")
    op.drop_table("channels")
