"""Deliveries indexed by paper: a digest run asks which of today's papers a
batch of channels was already sent, by paper, and without this index that
reads the whole ledger (see docs/benchmarks.md, section "Digest selection",
"With a month of ledger").

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_paper_status", "deliveries", ["paper_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_paper_status", table_name="deliveries")
