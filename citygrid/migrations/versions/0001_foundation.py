"""foundation: organisation, access, reference layers

Revision ID: 0001
Revises: 
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from sqlalchemy.dialects import postgresql

from citygrid.db.grants import APPEND_ONLY, READ, READ_WRITE, forbid_changes, grant

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('airspace',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('floor_m', sa.Float(), nullable=False),
    sa.Column('ceiling_m', sa.Float(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('generated', sa.Boolean(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.CheckConstraint("kind IN ('prohibited','controlled')", name='airspace_kind'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('api_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('key_sha256', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_sha256'),
    sa.UniqueConstraint('name')
    )
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('target', sa.Text(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('communities',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('subdistrict_code', sa.String(length=9), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('has_post', sa.Boolean(), nullable=False),
    sa.Column('grid_code', sa.String(length=14), nullable=True),
    sa.Column('generated', sa.Boolean(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_index(op.f('ix_communities_county_code'), 'communities', ['county_code'], unique=False)
    op.create_index(op.f('ix_communities_subdistrict_code'), 'communities', ['subdistrict_code'], unique=False)
    op.create_table('departments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=True),
    sa.Column('grid_code', sa.String(length=14), nullable=True),
    sa.CheckConstraint("kind IN ('department','squad','subteam')", name='department_kind'),
    sa.ForeignKeyConstraint(['parent_id'], ['departments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('districts',
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=True),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('generated', sa.Boolean(), nullable=False),
    sa.Column('area_km2', sa.Float(), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('grids',
    sa.Column('code', sa.String(length=14), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('subdistrict_code', sa.String(length=9), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('leader', sa.Text(), nullable=True),
    sa.Column('party_branch', sa.Text(), nullable=True),
    sa.Column('area_km2', sa.Float(), nullable=True),
    sa.Column('generated', sa.Boolean(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_index(op.f('ix_grids_county_code'), 'grids', ['county_code'], unique=False)
    op.create_index(op.f('ix_grids_subdistrict_code'), 'grids', ['subdistrict_code'], unique=False)
    op.create_table('idempotency_keys',
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('principal', sa.Text(), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'principal', 'key')
    )
    op.create_table('pois',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('opening_hours', sa.Text(), nullable=True),
    sa.Column('busy_hours', sa.Text(), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('grid_code', sa.String(length=14), nullable=True),
    sa.Column('generated', sa.Boolean(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='POINT', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_pois_county_code'), 'pois', ['county_code'], unique=False)
    op.create_index(op.f('ix_pois_kind'), 'pois', ['kind'], unique=False)
    op.create_table('posts',
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('community_code', sa.String(length=12), nullable=False),
    sa.Column('grid_code', sa.String(length=14), nullable=True),
    sa.Column('subdistrict_code', sa.String(length=9), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('opening_hours', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('generated', sa.Boolean(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='POINT', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_index(op.f('ix_posts_county_code'), 'posts', ['county_code'], unique=False)
    op.create_index(op.f('ix_posts_grid_code'), 'posts', ['grid_code'], unique=False)
    op.create_table('roads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('length_m', sa.Float(), nullable=True),
    sa.Column('generated', sa.Boolean(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='LINESTRING', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_roads_county_code'), 'roads', ['county_code'], unique=False)
    op.create_table('service_area',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('subdistricts',
    sa.Column('code', sa.String(length=9), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('urban_core', sa.Boolean(), nullable=False),
    sa.Column('generated', sa.Boolean(), nullable=False),
    sa.Column('area_km2', sa.Float(), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_index(op.f('ix_subdistricts_county_code'), 'subdistricts', ['county_code'], unique=False)
    op.create_table('officers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('badge', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('county_code', sa.String(length=6), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('badge')
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.Text(), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=True),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('commander','drone_operator','planner','patrol_officer','public')", name='user_role'),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    for table in ("districts", "subdistricts", "communities", "grids", "posts", "roads", "pois",
                  "airspace", "service_area"):
        grant(table, READ)  # layers are written by the owner (citygrid layers ...)
    for table in ("departments", "officers", "users", "api_clients", "idempotency_keys"):
        grant(table, READ_WRITE)
    grant("audit_log", APPEND_ONLY)
    forbid_changes("audit_log")


def downgrade() -> None:
    op.drop_table('users')
    op.drop_table('officers')
    op.drop_index(op.f('ix_subdistricts_county_code'), table_name='subdistricts')
    op.drop_table('subdistricts')
    op.drop_table('service_area')
    op.drop_index(op.f('ix_roads_county_code'), table_name='roads')
    op.drop_table('roads')
    op.drop_index(op.f('ix_posts_grid_code'), table_name='posts')
    op.drop_index(op.f('ix_posts_county_code'), table_name='posts')
    op.drop_table('posts')
    op.drop_index(op.f('ix_pois_kind'), table_name='pois')
    op.drop_index(op.f('ix_pois_county_code'), table_name='pois')
    op.drop_table('pois')
    op.drop_table('idempotency_keys')
    op.drop_index(op.f('ix_grids_subdistrict_code'), table_name='grids')
    op.drop_index(op.f('ix_grids_county_code'), table_name='grids')
    op.drop_table('grids')
    op.drop_table('districts')
    op.drop_table('departments')
    op.drop_index(op.f('ix_communities_subdistrict_code'), table_name='communities')
    op.drop_index(op.f('ix_communities_county_code'), table_name='communities')
    op.drop_table('communities')
    op.drop_table('audit_log')
    op.execute('DROP FUNCTION IF EXISTS audit_log_append_only()')
    op.drop_table('api_clients')
    op.drop_table('airspace')
