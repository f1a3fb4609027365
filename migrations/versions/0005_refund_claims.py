"""refund claims and attempts: claimed units and amounts per order line, reserved refunds per payment

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

OPEN_REFUNDS = "('refund_requested', 'refund_approved', 'refund_failed', 'refunded')"


def upgrade():
    with op.batch_alter_table('order_lines') as batch:
        batch.add_column(sa.Column('claimed_qty', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('claimed_minor', sa.BigInteger(), nullable=False, server_default='0'))
        batch.create_check_constraint(
            op.f('ck_order_lines_claims_sane'), 'claimed_qty >= 0 AND claimed_qty <= qty'
            ' AND claimed_minor >= 0 AND claimed_minor <= total_minor')
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('refund_claimed_minor', sa.BigInteger(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint(
            op.f('ck_orders_claims_sane'), 'refund_claimed_minor >= 0 AND refund_claimed_minor <= total_minor')
    with op.batch_alter_table('refunds') as batch:
        batch.add_column(sa.Column('shipping_minor', sa.BigInteger(), nullable=False, server_default='0'))
    with op.batch_alter_table('payments') as batch:
        batch.add_column(sa.Column('refund_reserved_minor', sa.BigInteger(), nullable=False,
                                   server_default='0'))
        batch.create_check_constraint(
            op.f('ck_payments_reserve_sane'), 'refund_reserved_minor >= 0 AND refund_reserved_minor <= received_minor')
    with op.batch_alter_table('payment_refunds') as batch:
        batch.add_column(sa.Column('channel', sa.String(length=20), nullable=False,
                                   server_default='gateway'))
        batch.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('last_error', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('reference', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('confirmed_by_id', sa.Uuid(), nullable=True))
    op.create_index('ix_payment_refunds_open', 'payment_refunds', ['tenant_id', 'status', 'created_at'],
                    unique=False)
    # Existing rows: what open refunds already claim, what executed refunds already reserved.
    # (As the schema owner under FORCE RLS these touch only rows the migration's settings show.)
    op.execute(f"""
        UPDATE order_lines SET
          claimed_qty = COALESCE((SELECT SUM(rl.qty) FROM refund_lines rl JOIN refunds r
              ON r.tenant_id = rl.tenant_id AND r.id = rl.refund_id
              WHERE rl.tenant_id = order_lines.tenant_id AND rl.order_line_id = order_lines.id
                AND r.status IN {OPEN_REFUNDS}), 0),
          claimed_minor = COALESCE((SELECT SUM(rl.amount_minor) FROM refund_lines rl JOIN refunds r
              ON r.tenant_id = rl.tenant_id AND r.id = rl.refund_id
              WHERE rl.tenant_id = order_lines.tenant_id AND rl.order_line_id = order_lines.id
                AND r.status IN {OPEN_REFUNDS}), 0)""")
    op.execute(f"""
        UPDATE orders SET refund_claimed_minor = COALESCE((SELECT SUM(r.amount_minor) FROM refunds r
            WHERE r.tenant_id = orders.tenant_id AND r.order_id = orders.id
              AND r.status IN {OPEN_REFUNDS}), 0)""")
    op.execute("""
        UPDATE payments SET refund_reserved_minor = COALESCE((SELECT SUM(pr.amount_minor)
            FROM payment_refunds pr WHERE pr.tenant_id = payments.tenant_id
              AND pr.payment_id = payments.id AND pr.status <> 'failed'), 0)""")


def downgrade():
    op.drop_index('ix_payment_refunds_open', table_name='payment_refunds')
    with op.batch_alter_table('payment_refunds') as batch:
        for column in ('confirmed_by_id', 'reference', 'last_error', 'attempts', 'channel'):
            batch.drop_column(column)
    with op.batch_alter_table('payments') as batch:
        batch.drop_constraint('ck_payments_reserve_sane', type_='check')
        batch.drop_column('refund_reserved_minor')
    with op.batch_alter_table('refunds') as batch:
        batch.drop_column('shipping_minor')
    with op.batch_alter_table('orders') as batch:
        batch.drop_constraint('ck_orders_claims_sane', type_='check')
        batch.drop_column('closed_at')
        batch.drop_column('refund_claimed_minor')
    with op.batch_alter_table('order_lines') as batch:
        batch.drop_constraint('ck_order_lines_claims_sane', type_='check')
        batch.drop_column('claimed_minor')
        batch.drop_column('claimed_qty')
