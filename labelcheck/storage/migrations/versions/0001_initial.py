"""Initial schema: users, projects, sources, runs, fields, annotators, items, annotations, results

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 17:34:17.091432
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    op.create_table('project',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('target_alpha', sa.Float(), nullable=False),
    sa.Column('snapshot', sa.Integer(), nullable=False),
    sa.Column('snapshot_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('annotator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('annotator_id', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'annotator_id')
    )
    op.create_table('data_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('data_source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_source_project_id'), ['project_id'], unique=False)

    op.create_table('field',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('value_type', sa.String(length=20), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=True),
    sa.Column('to_name', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'name')
    )
    op.create_table('item_meta',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('value', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('item_meta', schema=None) as batch_op:
        batch_op.create_index('ix_item_meta_lookup', ['project_id', 'key', 'value', 'task_id'], unique=False)

    op.create_table('item_stat',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=200), nullable=False),
    sa.Column('field', sa.String(length=200), nullable=False),
    sa.Column('n_answers', sa.Integer(), nullable=False),
    sa.Column('n_labels', sa.Integer(), nullable=False),
    sa.Column('disagreement', sa.Float(), nullable=False),
    sa.Column('entropy', sa.Float(), nullable=False),
    sa.Column('majority_label', sa.Text(), nullable=True),
    sa.Column('majority_share', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('item_stat', schema=None) as batch_op:
        batch_op.create_index('ix_item_stat_rank', ['project_id', 'snapshot', 'field', 'disagreement'], unique=False)
        batch_op.create_index('ix_item_stat_entropy', ['project_id', 'snapshot', 'field', 'entropy'], unique=False)
        batch_op.create_index('ix_item_stat_answers', ['project_id', 'snapshot', 'field', 'n_answers'], unique=False)
        batch_op.create_index('ix_item_stat_field_task', ['project_id', 'snapshot', 'field', 'task_id'], unique=False)
        batch_op.create_index('ix_item_stat_task', ['project_id', 'snapshot', 'task_id'], unique=False)

    op.create_table('result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'snapshot', 'kind', 'key')
    )
    op.create_table('annotation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=200), nullable=False),
    sa.Column('annotation_id', sa.String(length=200), nullable=False),
    sa.Column('annotator_id', sa.String(length=200), nullable=False),
    sa.Column('field', sa.String(length=200), nullable=False),
    sa.Column('label_text', sa.Text(), nullable=True),
    sa.Column('label_number', sa.Float(), nullable=True),
    sa.Column('label_json', sa.Text(), nullable=True),
    sa.Column('created_at_us', sa.BigInteger(), nullable=True),
    sa.Column('updated_at_us', sa.BigInteger(), nullable=True),
    sa.Column('lead_time', sa.Float(), nullable=True),
    sa.Column('ground_truth', sa.Boolean(), nullable=False),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('row_hash', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['data_source.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('annotation', schema=None) as batch_op:
        batch_op.create_index('ix_annotation_task', ['project_id', 'task_id', 'annotator_id'], unique=False)

    op.create_table('item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=200), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('data_hash', sa.BigInteger(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['data_source.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'task_id')
    )
    op.create_table('run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('n_problems', sa.Integer(), nullable=False),
    sa.Column('snapshot_before', sa.Integer(), nullable=True),
    sa.Column('snapshot_after', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['data_source.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_project_id'), ['project_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_project_id'))

    op.drop_table('run')
    op.drop_table('item')
    with op.batch_alter_table('annotation', schema=None) as batch_op:
        batch_op.drop_index('ix_annotation_task')

    op.drop_table('annotation')
    op.drop_table('result')
    with op.batch_alter_table('item_stat', schema=None) as batch_op:
        batch_op.drop_index('ix_item_stat_task')
        batch_op.drop_index('ix_item_stat_rank')
        batch_op.drop_index('ix_item_stat_entropy')
        batch_op.drop_index('ix_item_stat_answers')
        batch_op.drop_index('ix_item_stat_field_task')

    op.drop_table('item_stat')
    with op.batch_alter_table('item_meta', schema=None) as batch_op:
        batch_op.drop_index('ix_item_meta_lookup')

    op.drop_table('item_meta')
    op.drop_table('field')
    with op.batch_alter_table('data_source', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_source_project_id'))

    op.drop_table('data_source')
    op.drop_table('annotator')
    op.drop_table('project')
    op.drop_table('user_account')
