"""Settlement runs: one statement per beneficiary and period, set-based, carry-forward, withholding."""

from sqlalchemy import func, select

from app.distribution.models import DistributionEntry, EntryKind, EntryRole, EntryStatus
from app.distribution.settlement_models import Statement, StatementStatus
from app.distribution.statements import run_settlement
from app.distribution.withholding import DEFAULT_BRACKETS, withholding
from app.tenancy.scope import system_scope
from tests.factories import add_consumer, make_tenant, scope_of
from tests.support.scope import use_scope
from tests.support.settlement import IN_PERIOD, NOW, consumer_payee, entry, org_payee


def statements_of(session, net) -> dict:
    use_scope(session, system_scope(net.tenant.id))
    return {s.beneficiary_id: s for s in session.scalars(
        select(Statement).where(Statement.tenant_id == net.tenant.id))}


def test_a_run_makes_one_statement_per_beneficiary_with_its_totals(session):
    net = make_tenant(session)
    store = org_payee(net, "jingan")
    entry(session, net, store, 50_000, kind=EntryKind.takings, role=EntryRole.store_takings)
    entry(session, net, store, -300, kind=EntryKind.fee, role=EntryRole.store_takings)
    entry(session, net, store, 2_000, role=EntryRole.home_store)
    result = run_settlement(session, system_scope(net.tenant.id), now=NOW)
    assert (result.statements, result.entries, result.carried) == (1, 3, 0)
    statement = statements_of(session, net)[store.id]
    assert statement.status is StatementStatus.pending_approval
    assert (statement.takings_minor, statement.fee_minor, statement.commission_minor) == (50_000, -300, 2_000)
    assert statement.gross_minor == statement.net_minor == 51_700
    assert statement.withholding_minor == 0  # an org withholds nothing
    assert statement.run_key == "weekly:2026-11-23"


def test_entries_move_to_settled_with_their_statement_and_a_rerun_adds_nothing(session):
    net = make_tenant(session)
    store = org_payee(net, "jingan")
    entry(session, net, store, 5_000)
    run_settlement(session, system_scope(net.tenant.id), now=NOW)
    again = run_settlement(session, system_scope(net.tenant.id), now=NOW)
    assert (again.statements, again.entries) == (0, 0)
    rows = session.scalars(select(DistributionEntry).where(
        DistributionEntry.tenant_id == net.tenant.id)).all()
    assert [(r.status, r.statement_id is not None) for r in rows] == [(EntryStatus.settled, True)]


def test_entries_not_yet_available_or_after_the_period_stay_for_later(session):
    net = make_tenant(session)
    store = org_payee(net, "jingan")
    entry(session, net, store, 5_000)
    entry(session, net, store, 7_000, status=EntryStatus.frozen)
    entry(session, net, store, 9_000, available_at=NOW)  # the current week: next run
    run_settlement(session, system_scope(net.tenant.id), now=NOW)
    assert statements_of(session, net)[store.id].gross_minor == 5_000


def test_a_balance_below_the_minimum_is_carried_into_the_next_statement(session):
    net = make_tenant(session)
    small = consumer_payee(add_consumer(session, net, "jingan"))
    debt = consumer_payee(add_consumer(session, net, "chengdu", phone="13900139000"))
    entry(session, net, small, 500)
    entry(session, net, debt, -2_000)
    run_settlement(session, system_scope(net.tenant.id), now=NOW)
    statements = statements_of(session, net)
    for payee, amount in ((small, 500), (debt, -2_000)):
        statement = statements[payee.id]
        assert statement.status is StatementStatus.carried
        assert (statement.gross_minor, statement.net_minor, statement.other_minor) == (0, 0, -amount)
    # the next week: the carried balance is there, with new money
    entry(session, net, debt, 12_000, available_at=NOW)
    later = NOW.replace(day=9)
    run_settlement(session, system_scope(net.tenant.id), now=later)
    next_statement = session.scalars(select(Statement).where(
        Statement.beneficiary_id == debt.id, Statement.run_key == "weekly:2026-11-30")).one()
    assert next_statement.gross_minor == 10_000
    assert next_statement.status is StatementStatus.pending_approval


def test_individuals_have_tax_withheld_by_the_table_and_it_is_an_entry(session):
    net = make_tenant(session)
    promoter = consumer_payee(add_consumer(session, net, "jingan"))
    entry(session, net, promoter, 3_000_000)
    run_settlement(session, system_scope(net.tenant.id), now=NOW)
    statement = statements_of(session, net)[promoter.id]
    expected = withholding(3_000_000, DEFAULT_BRACKETS)
    assert expected == 3_000_000 * 80 // 100 * 30 // 100 - 200_000  # 30% bracket of 24,000 taxable
    assert statement.withholding_minor == expected
    assert statement.net_minor == 3_000_000 - expected
    withheld = session.scalar(select(func.sum(DistributionEntry.amount_minor)).where(
        DistributionEntry.statement_id == statement.id, DistributionEntry.kind == EntryKind.withholding))
    assert withheld == -expected


def test_staff_of_a_distributor_cannot_run_the_tenants_settlement(session):
    import pytest

    from app.tenancy.errors import PermissionDenied

    net = make_tenant(session)
    with pytest.raises(PermissionDenied):
        run_settlement(session, scope_of(session, net, "east"), now=NOW)
    assert IN_PERIOD < NOW


GROSSES = [1, 79_999, 80_000, 80_001, 399_999, 400_000, 400_001, 2_500_000, 2_500_001, 6_250_000,
           6_250_001, 123_456_789]


def test_the_sql_withholding_equals_the_rule_for_the_tenants_own_table(session):
    from app.db import uuid7
    from app.distribution.settlement_models import WithholdingBracket
    from app.distribution.withholding import Bracket

    net = make_tenant(session)
    table = [Bracket(0, 1_000, 0), Bracket(1_000_000, 2_500, 150_000), Bracket(9_000_000, 4_500, 1_350_000)]
    use_scope(session, system_scope(net.tenant.id))
    session.add_all(WithholdingBracket(tenant_id=net.tenant.id, id=uuid7(), owner_path=net.org("brand").path,
                                       above_minor=b.above_minor, rate_bps=b.rate_bps,
                                       quick_deduction_minor=b.quick_deduction_minor) for b in table)
    payees = [consumer_payee(add_consumer(session, net, "jingan", phone=f"1390000{i:04d}"))
              for i in range(len(GROSSES))]
    for payee, gross in zip(payees, GROSSES, strict=True):
        entry(session, net, payee, gross)
    run_settlement(session, system_scope(net.tenant.id), now=NOW)
    statements = statements_of(session, net)
    for payee, gross in zip(payees, GROSSES, strict=True):
        statement = statements[payee.id]
        if gross < 1_000:  # below the minimum payout: carried, nothing withheld yet
            assert statement.status is StatementStatus.carried and statement.withholding_minor == 0
            continue
        assert statement.withholding_minor == withholding(gross, table), gross
