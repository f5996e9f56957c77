"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 08:04:47.533103
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_kind', sa.String(length=32), nullable=False),
    sa.Column('actor_id', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('crm_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('segment', sa.String(length=32), nullable=False),
    sa.Column('owner_name', sa.String(length=200), nullable=False),
    sa.Column('owner_email', sa.String(length=320), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_account')),
    sa.UniqueConstraint('ref', name=op.f('uq_crm_account_ref'))
    )
    op.create_table('crm_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('account_ref', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_contact')),
    sa.UniqueConstraint('ref', name=op.f('uq_crm_contact_ref'))
    )
    with op.batch_alter_table('crm_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_contact_account_ref'), ['account_ref'], unique=False)

    op.create_table('crm_opportunity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('account_ref', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('stage', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('close_on', sa.Date(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_opportunity')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_crm_opportunity_idempotency_key')),
    sa.UniqueConstraint('ref', name=op.f('uq_crm_opportunity_ref'))
    )
    with op.batch_alter_table('crm_opportunity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_opportunity_account_ref'), ['account_ref'], unique=False)

    op.create_table('ledger_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('payment_method', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_account')),
    sa.UniqueConstraint('ref', name=op.f('uq_ledger_account_ref'))
    )
    op.create_table('ledger_idempotency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('operation', sa.String(length=64), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_idempotency')),
    sa.UniqueConstraint('key', name=op.f('uq_ledger_idempotency_key'))
    )
    op.create_table('ledger_invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('account_ref', sa.String(length=64), nullable=False),
    sa.Column('subscription_ref', sa.String(length=64), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('balance', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_invoice')),
    sa.UniqueConstraint('ref', name=op.f('uq_ledger_invoice_ref'))
    )
    with op.batch_alter_table('ledger_invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_invoice_account_ref'), ['account_ref'], unique=False)

    op.create_table('ledger_payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('invoice_ref', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('failure_code', sa.String(length=64), nullable=True),
    sa.Column('payment_method', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_payment')),
    sa.UniqueConstraint('ref', name=op.f('uq_ledger_payment_ref'))
    )
    with op.batch_alter_table('ledger_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_payment_invoice_ref'), ['invoice_ref'], unique=False)

    op.create_table('ledger_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('account_ref', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('term_start', sa.Date(), nullable=False),
    sa.Column('term_end', sa.Date(), nullable=False),
    sa.Column('auto_renew', sa.Boolean(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_subscription')),
    sa.UniqueConstraint('ref', name=op.f('uq_ledger_subscription_ref'))
    )
    with op.batch_alter_table('ledger_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_subscription_account_ref'), ['account_ref'], unique=False)

    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'DONE', 'FAILED', name='outboxstatus', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.String(length=2000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_message_idempotency_key'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_message_available_at'), ['available_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_status'), ['status'], unique=False)

    op.create_table('partner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('crm_ref', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner'))
    )
    op.create_table('portal_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_user')),
    sa.UniqueConstraint('external_id', name=op.f('uq_portal_user_external_id'))
    )
    op.create_table('product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('PLAN', 'SEAT_ADDON', 'ONE_TIME_PACK', 'RECURRING_PACK', name='productkind', native_enum=False, length=32), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('compute_quota_minutes', sa.Integer(), nullable=True),
    sa.Column('pack_units', sa.Integer(), nullable=True),
    sa.Column('validity_months', sa.Integer(), nullable=True),
    sa.Column('eligible_plans', sa.JSON(), nullable=False),
    sa.Column('guests_billable', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product')),
    sa.UniqueConstraint('code', 'version', name=op.f('uq_product_code'))
    )
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_code'), ['code'], unique=False)

    op.create_table('provisioned_entitlement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deployment_ref', sa.String(length=64), nullable=False),
    sa.Column('entitlement', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('pushes', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provisioned_entitlement')),
    sa.UniqueConstraint('deployment_ref', name=op.f('uq_provisioned_entitlement_deployment_ref'))
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('PARTNER', 'ADMIN', 'SERVICE', name='tokenkind', native_enum=False, length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_api_token_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_partner_id'), ['partner_id'], unique=False)

    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('kind', sa.Enum('DIRECT', 'PARTNER_MANAGED', name='customerkind', native_enum=False, length=32), nullable=False),
    sa.Column('managing_partner_id', sa.Integer(), nullable=True),
    sa.Column('crm_ref', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['managing_partner_id'], ['partner.id'], name=op.f('fk_customer_managing_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer'))
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_managing_partner_id'), ['managing_partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_name'), ['name'], unique=False)

    op.create_table('price',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('period', sa.Enum('YEAR', 'ONE_TIME', name='billingperiod', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_price_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price')),
    sa.UniqueConstraint('product_id', 'currency', name=op.f('uq_price_product_id'))
    )
    with op.batch_alter_table('price', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_product_id'), ['product_id'], unique=False)

    op.create_table('billing_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('sold_to_name', sa.String(length=200), nullable=False),
    sa.Column('sold_to_email', sa.String(length=320), nullable=False),
    sa.Column('bill_to_name', sa.String(length=200), nullable=False),
    sa.Column('bill_to_email', sa.String(length=320), nullable=False),
    sa.Column('tax_id', sa.String(length=64), nullable=True),
    sa.Column('payment_method', sa.String(length=64), nullable=True),
    sa.Column('provider_ref', sa.String(length=64), nullable=True),
    sa.Column('sync_status', sa.Enum('SYNCED', 'PENDING', 'FAILED', 'DRIFTED', name='syncstatus', native_enum=False, length=32), nullable=False),
    sa.CheckConstraint('(customer_id IS NULL) <> (partner_id IS NULL)', name=op.f('ck_billing_account_owner')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_billing_account_customer_id_customer')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_billing_account_partner_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_account'))
    )
    with op.batch_alter_table('billing_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_account_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_account_partner_id'), ['partner_id'], unique=False)

    op.create_table('deployment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('SAAS_NAMESPACE', 'SELF_MANAGED', name='deploymentkind', native_enum=False, length=32), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('trial_started_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_deployment_customer_id_customer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment')),
    sa.UniqueConstraint('external_id', name=op.f('uq_deployment_external_id'))
    )
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployment_customer_id'), ['customer_id'], unique=False)

    op.create_table('membership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('OWNER', 'BILLING_ADMIN', 'VIEWER', name='memberrole', native_enum=False, length=32), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_membership_customer_id_customer')),
    sa.ForeignKeyConstraint(['user_id'], ['portal_user.id'], name=op.f('fk_membership_user_id_portal_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership')),
    sa.UniqueConstraint('customer_id', 'user_id', name=op.f('uq_membership_customer_id'))
    )
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_membership_user_id'), ['user_id'], unique=False)

    op.create_table('seat_usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.Column('billable_users', sa.Integer(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], name=op.f('fk_seat_usage_deployment_id_deployment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seat_usage')),
    sa.UniqueConstraint('deployment_id', 'reported_on', name=op.f('uq_seat_usage_deployment_id'))
    )
    with op.batch_alter_table('seat_usage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seat_usage_deployment_id'), ['deployment_id'], unique=False)

    op.create_table('subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('billing_account_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.Enum('WEB_DIRECT', 'SALES_ASSISTED', 'PARTNER', 'MARKETPLACE', name='channel', native_enum=False, length=32), nullable=False),
    sa.Column('reconciliation_mode', sa.Enum('QUARTERLY', 'ANNUAL_TRUE_UP', name='reconciliationmode', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('TRIAL', 'ACTIVE', 'GRACE', 'EXPIRED', name='subscriptionstatus', native_enum=False, length=32), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('seats_in_use', sa.Integer(), nullable=False),
    sa.Column('max_seats_used', sa.Integer(), nullable=False),
    sa.Column('term_start', sa.Date(), nullable=False),
    sa.Column('term_end', sa.Date(), nullable=False),
    sa.Column('auto_renew', sa.Boolean(), nullable=False),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('pending_plan_id', sa.Integer(), nullable=True),
    sa.Column('provider_ref', sa.String(length=64), nullable=True),
    sa.Column('sync_status', sa.Enum('SYNCED', 'PENDING', 'FAILED', 'DRIFTED', name='syncstatus', native_enum=False, length=32), nullable=False),
    sa.Column('provisioning_status', sa.Enum('PENDING', 'PROVISIONED', 'RETRYING', 'FAILED', name='provisioningstatus', native_enum=False, length=32), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('seats >= 0', name=op.f('ck_subscription_seats')),
    sa.CheckConstraint('term_end > term_start', name=op.f('ck_subscription_term')),
    sa.ForeignKeyConstraint(['billing_account_id'], ['billing_account.id'], name=op.f('fk_subscription_billing_account_id_billing_account')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_subscription_customer_id_customer')),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], name=op.f('fk_subscription_deployment_id_deployment')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_subscription_partner_id_partner')),
    sa.ForeignKeyConstraint(['pending_plan_id'], ['product.id'], name=op.f('fk_subscription_pending_plan_id_product')),
    sa.ForeignKeyConstraint(['plan_id'], ['product.id'], name=op.f('fk_subscription_plan_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription')),
    sa.UniqueConstraint('number', name=op.f('uq_subscription_number'))
    )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_billing_account_id'), ['billing_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_deployment_id'), ['deployment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_term_end'), ['term_end'], unique=False)
        batch_op.create_index('uq_subscription_live_deployment', ['deployment_id'], unique=True, sqlite_where=sa.text("status IN ('TRIAL', 'ACTIVE', 'GRACE')"), postgresql_where=sa.text("status IN ('TRIAL', 'ACTIVE', 'GRACE')"))

    op.create_table('add_on_purchase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('provider_ref', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_add_on_purchase_quantity')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_add_on_purchase_product_id_product')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_add_on_purchase_subscription_id_subscription')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_add_on_purchase'))
    )
    with op.batch_alter_table('add_on_purchase', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_add_on_purchase_subscription_id'), ['subscription_id'], unique=False)

    op.create_table('license',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('activation_code', sa.String(length=24), nullable=False),
    sa.Column('instance_id', sa.String(length=64), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('license_key', sa.Text(), nullable=True),
    sa.Column('billable_users', sa.Integer(), nullable=True),
    sa.Column('max_historical_users', sa.Integer(), nullable=True),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_license_subscription_id_subscription')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_license')),
    sa.UniqueConstraint('activation_code', name=op.f('uq_license_activation_code'))
    )
    with op.batch_alter_table('license', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_license_subscription_id'), ['subscription_id'], unique=False)

    op.create_table('order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('PENDING', 'COMPLETED', 'FAILED', name='orderstatus', native_enum=False, length=32), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('quote_digest', sa.String(length=64), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal', sa.Integer(), nullable=False),
    sa.Column('discount', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('placed_by', sa.String(length=200), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_order_customer_id_customer')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_order_subscription_id_subscription')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order')),
    sa.UniqueConstraint('customer_id', 'idempotency_key', name=op.f('uq_order_customer_id'))
    )
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_subscription_id'), ['subscription_id'], unique=False)

    op.create_table('add_on_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('add_on_purchase_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['add_on_purchase_id'], ['add_on_purchase.id'], name=op.f('fk_add_on_assignment_add_on_purchase_id_add_on_purchase')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_add_on_assignment')),
    sa.UniqueConstraint('add_on_purchase_id', 'user_id', name=op.f('uq_add_on_assignment_add_on_purchase_id'))
    )
    with op.batch_alter_table('add_on_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_add_on_assignment_add_on_purchase_id'), ['add_on_purchase_id'], unique=False)

    op.create_table('consumable_purchase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('COMPUTE_MINUTES', 'STORAGE', name='consumablekind', native_enum=False, length=32), nullable=False),
    sa.Column('packs', sa.Integer(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('units_used', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('purchased_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('packs > 0', name=op.f('ck_consumable_purchase_packs')),
    sa.CheckConstraint('units_used >= 0 AND units_used <= units', name=op.f('ck_consumable_purchase_units_used')),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_consumable_purchase_order_id_order')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_consumable_purchase_product_id_product')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_consumable_purchase_subscription_id_subscription')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consumable_purchase'))
    )
    with op.batch_alter_table('consumable_purchase', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consumable_purchase_subscription_id'), ['subscription_id'], unique=False)

    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('billing_account_id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal', sa.Integer(), nullable=False),
    sa.Column('discount', sa.Integer(), nullable=False),
    sa.Column('tax', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('amount_paid', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'OPEN', 'PAID', 'VOID', 'UNCOLLECTIBLE', name='invoicestatus', native_enum=False, length=32), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('provider_ref', sa.String(length=64), nullable=True),
    sa.Column('sync_status', sa.Enum('SYNCED', 'PENDING', 'FAILED', 'DRIFTED', name='syncstatus', native_enum=False, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['billing_account_id'], ['billing_account.id'], name=op.f('fk_invoice_billing_account_id_billing_account')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_invoice_customer_id_customer')),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], name=op.f('fk_invoice_order_id_order')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'], name=op.f('fk_invoice_subscription_id_subscription')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('number', name=op.f('uq_invoice_number'))
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_billing_account_id'), ['billing_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_subscription_id'), ['subscription_id'], unique=False)

    op.create_table('invoice_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('CHARGE', 'CREDIT', 'DISCOUNT', name='invoicelinekind', native_enum=False, length=32), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_amount', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_line_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_invoice_line_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line'))
    )
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'SUCCEEDED', 'FAILED', name='paymentstatus', native_enum=False, length=32), nullable=False),
    sa.Column('failure_code', sa.String(length=64), nullable=True),
    sa.Column('payment_method', sa.String(length=64), nullable=True),
    sa.Column('provider_ref', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_payment_invoice_id_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment'))
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_invoice_id'), ['invoice_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_invoice_id'))

    op.drop_table('payment')
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_invoice_id'))

    op.drop_table('invoice_line')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_subscription_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_status'))
        batch_op.drop_index(batch_op.f('ix_invoice_customer_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_billing_account_id'))

    op.drop_table('invoice')
    with op.batch_alter_table('consumable_purchase', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consumable_purchase_subscription_id'))

    op.drop_table('consumable_purchase')
    with op.batch_alter_table('add_on_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_add_on_assignment_add_on_purchase_id'))

    op.drop_table('add_on_assignment')
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_subscription_id'))
        batch_op.drop_index(batch_op.f('ix_order_customer_id'))

    op.drop_table('order')
    with op.batch_alter_table('license', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_license_subscription_id'))

    op.drop_table('license')
    with op.batch_alter_table('add_on_purchase', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_add_on_purchase_subscription_id'))

    op.drop_table('add_on_purchase')
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index('uq_subscription_live_deployment', sqlite_where=sa.text("status IN ('TRIAL', 'ACTIVE', 'GRACE')"), postgresql_where=sa.text("status IN ('TRIAL', 'ACTIVE', 'GRACE')"))
        batch_op.drop_index(batch_op.f('ix_subscription_term_end'))
        batch_op.drop_index(batch_op.f('ix_subscription_status'))
        batch_op.drop_index(batch_op.f('ix_subscription_partner_id'))
        batch_op.drop_index(batch_op.f('ix_subscription_deployment_id'))
        batch_op.drop_index(batch_op.f('ix_subscription_customer_id'))
        batch_op.drop_index(batch_op.f('ix_subscription_billing_account_id'))

    op.drop_table('subscription')
    with op.batch_alter_table('seat_usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seat_usage_deployment_id'))

    op.drop_table('seat_usage')
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_user_id'))
        batch_op.drop_index(batch_op.f('ix_membership_customer_id'))

    op.drop_table('membership')
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_customer_id'))

    op.drop_table('deployment')
    with op.batch_alter_table('billing_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_account_partner_id'))
        batch_op.drop_index(batch_op.f('ix_billing_account_customer_id'))

    op.drop_table('billing_account')
    with op.batch_alter_table('price', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_product_id'))

    op.drop_table('price')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_name'))
        batch_op.drop_index(batch_op.f('ix_customer_managing_partner_id'))
        batch_op.drop_index(batch_op.f('ix_customer_email'))

    op.drop_table('customer')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_partner_id'))

    op.drop_table('api_token')
    op.drop_table('provisioned_entitlement')
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_code'))

    op.drop_table('product')
    op.drop_table('portal_user')
    op.drop_table('partner')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_available_at'))

    op.drop_table('outbox_message')
    with op.batch_alter_table('ledger_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_subscription_account_ref'))

    op.drop_table('ledger_subscription')
    with op.batch_alter_table('ledger_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_payment_invoice_ref'))

    op.drop_table('ledger_payment')
    with op.batch_alter_table('ledger_invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_invoice_account_ref'))

    op.drop_table('ledger_invoice')
    op.drop_table('ledger_idempotency')
    op.drop_table('ledger_account')
    with op.batch_alter_table('crm_opportunity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_opportunity_account_ref'))

    op.drop_table('crm_opportunity')
    with op.batch_alter_table('crm_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_contact_account_ref'))

    op.drop_table('crm_contact')
    op.drop_table('crm_account')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))

    op.drop_table('audit_event')
