"""The demo closes one period with statements in every state, and every org's books balance."""

from sqlalchemy import func, select

from app.demo.catalog import seed_catalog
from app.demo.distribution import seed_distribution
from app.distribution.settlement_models import Statement, StatementStatus
from app.finance.journal import trial_balance
from app.finance.models import JournalLine, LedgerAccount
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, make_tenant
from tests.support.scope import use_scope

PEOPLE = [("jingan", "王小明"), ("jingan", "李娜"), ("xuhui", "张伟"), ("hangzhou", "陈静"),
          ("chengdu", "刘洋")]


def test_the_demo_settles_a_week_with_statements_in_every_state(session):
    net = make_tenant(session)
    for i, (store, name) in enumerate(PEOPLE):
        add_consumer(session, net, store if store in net.orgs else "jingan", name=name,
                     phone=f"1380013800{i}")
    seed_catalog(session, net.tenant, net.orgs)
    seed_distribution(session, net.tenant, net.orgs)
    use_scope(session, system_scope(net.tenant.id))
    statuses = set(session.scalars(select(Statement.status).where(Statement.tenant_id == net.tenant.id)))
    assert statuses == set(StatementStatus) - {StatementStatus.building}
    assert trial_balance(session, net.tenant.id) == 0
    per_org = session.execute(select(LedgerAccount.org_id, func.sum(JournalLine.amount_minor))
                              .join(LedgerAccount, LedgerAccount.id == JournalLine.account_id)
                              .where(JournalLine.tenant_id == net.tenant.id)
                              .group_by(LedgerAccount.org_id)).all()
    assert {total for _, total in per_org} == {0}  # no org's own books go negative (or positive)
