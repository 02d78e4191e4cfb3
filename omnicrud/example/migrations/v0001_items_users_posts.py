"""The bundled example's first revision: tables items, users and posts.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from omnicrud.backends.sql import schema as ot

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", ot.Text(100), nullable=False),
        sa.Column("description", ot.Text(1000), nullable=True),
        sa.Column("price", sa.Double(), nullable=False),
        sa.Column("created_at", ot.Timestamp(), nullable=False),
        sa.Column("updated_at", ot.Timestamp(), nullable=False),
        sa.Column("_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_name", ["name", "id"], unique=False)

    op.create_table(
        "users",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("username", ot.Text(50), nullable=False),
        sa.Column("email", ot.Text(254), nullable=False),
        sa.Column("full_name", ot.Text(200), nullable=True),
        sa.Column("password", ot.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("created_at", ot.Timestamp(), nullable=False),
        sa.Column("updated_at", ot.Timestamp(), nullable=False),
        sa.Column("_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("uq_users_email", ["email"], unique=True)
        batch_op.create_index("uq_users_username", ["username"], unique=True)

    op.create_table(
        "posts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("title", ot.Text(200), nullable=False),
        sa.Column("body", ot.Text(), server_default="", nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", ot.Timestamp(), nullable=False),
        sa.Column("updated_at", ot.Timestamp(), nullable=False),
        sa.Column("_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name="fk_posts_owner_id"),
        sa.PrimaryKeyConstraint("id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index("ix_posts_owner_id", ["owner_id", "id"], unique=False)
        batch_op.create_index("ix_posts_title", ["title", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_title")
        batch_op.drop_index("ix_posts_owner_id")

    op.drop_table("posts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("uq_users_username")
        batch_op.drop_index("uq_users_email")

    op.drop_table("users")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_name")

    op.drop_table("items")
