"""The catalog: papers and catalog metadata.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "papers",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("authors_truncated", sa.Boolean(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("code_urls", sa.JSON(), nullable=False),
        sa.Column("has_code", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("arxiv_version", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("entered_revision", sa.Integer(), nullable=False),
        sa.Column("first_seen", bot.store.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", bot.store.models.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_papers_first_seen", "papers", ["first_seen"])
    op.create_index("ix_papers_revision", "papers", ["revision"])
    op.create_index("ix_papers_entered_revision", "papers", ["entered_revision"])
    op.create_table(
        "catalog_meta",
        sa.Column("key", sa.String(length=100), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("catalog_meta")
    op.drop_index("ix_papers_entered_revision", table_name="papers")
    op.drop_index("ix_papers_revision", table_name="papers")
    op.drop_index("ix_papers_first_seen", table_name="papers")
    op.drop_table("papers")
