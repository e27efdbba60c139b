"""Adjudication decisions, dataset exports, and the consensus columns of item_stat

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('item_stat') as batch:
        batch.add_column(sa.Column('consensus_label', sa.Text(), nullable=True))
        batch.add_column(sa.Column('consensus_confidence', sa.Float(), nullable=True))
        batch.add_column(sa.Column('need', sa.Float(), nullable=True))
        batch.add_column(sa.Column('need_reason', sa.Text(), nullable=True))
    op.create_index('ix_item_stat_need', 'item_stat', ['project_id', 'snapshot', 'field', 'need'],
                    unique=False)
    op.create_table('adjudication',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=200), nullable=False),
    sa.Column('task_id', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('snapshot', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('labelstudio_annotation_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_adjudication_item', 'adjudication', ['project_id', 'field', 'task_id'],
                    unique=False)
    op.create_table('dataset_export',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=200), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('snapshot', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=300), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('manifest', sa.JSON(), nullable=True),
    sa.Column('n_rows', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_dataset_export_project_id', 'dataset_export', ['project_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_dataset_export_project_id', table_name='dataset_export')
    op.drop_table('dataset_export')
    op.drop_index('ix_adjudication_item', table_name='adjudication')
    op.drop_table('adjudication')
    op.drop_index('ix_item_stat_need', table_name='item_stat')
    with op.batch_alter_table('item_stat') as batch:
        batch.drop_column('need_reason')
        batch.drop_column('need')
        batch.drop_column('consensus_confidence')
        batch.drop_column('consensus_label')
