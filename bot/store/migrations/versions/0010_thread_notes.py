"""Thread notes: what changed in a paper after it was posted, and the notes that told it.

``paper_changes`` records each later version of a paper, and each code link
that appeared on a paper that had none; ``thread_notes`` is one note per
(channel, change), due, sent or dropped; ``channels.thread_updates`` turns
the notes off for a channel (``/papers updates off``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("channels", sa.Column("thread_updates", sa.Boolean(), nullable=False,
                                        server_default=sa.true()))
    op.create_table(
        "paper_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("paper_id", sa.String(length=64), sa.ForeignKey("papers.id"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("code_urls", sa.JSON(), nullable=False),
        sa.Column("created_at", bot.store.models.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_paper_changes_revision", "paper_changes", ["revision"])
    op.create_table(
        "thread_notes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.Integer(),
                  sa.ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
        sa.Column("paper_id", sa.String(length=64), nullable=False),
        sa.Column("change_id", sa.Integer(),
                  sa.ForeignKey("paper_changes.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("not_before", bot.store.models.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("posted_at", bot.store.models.UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.UniqueConstraint("channel_id", "change_id", name="uq_thread_notes_channel_change"),
    )
    op.create_index("ix_thread_notes_status", "thread_notes", ["status", "not_before"])
    op.create_index("ix_thread_notes_channel_paper", "thread_notes", ["channel_id", "paper_id"])


def downgrade() -> None:
    op.drop_table("thread_notes")
    op.drop_table("paper_changes")
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("thread_updates")
