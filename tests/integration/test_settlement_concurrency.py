"""Settlement and payouts on committed rows with real parallel connections (app role, RLS on).

- parallel settlement runs make exactly one statement per beneficiary and period;
- a payout sent again and again (task retries, the recovery sweep, in parallel) pays once;
- a payout the gateway refuses, or reverses after sending, reopens the statement.
"""

from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.distribution import payouts
from app.distribution.models import DistributionEntry, EntryStatus
from app.distribution.settlement_handlers import reopen_on_transfer_reversed
from app.distribution.settlement_models import Payout, PayoutStatus, Statement, StatementStatus
from app.distribution.settlement_tasks import resend_claimed_payouts, send_payout_now
from app.distribution.statements import run_settlement
from app.finance.journal import trial_balance
from app.finance.models import JournalEntry
from app.tenancy.enums import ActorKind, Role
from app.tenancy.models import Tenant
from app.tenancy.orgs import brand_root
from app.tenancy.resolve import staff_scope
from app.tenancy.scope import system_scope
from tests.factories import add_consumer
from tests.support.money import money_world, parallel
from tests.support.settlement import NOW, consumer_payee, entry, org_payee, payout_account

N = 6
pytestmark = pytest.mark.many_connections  # threads on their own connections: one at a time under xdist


@pytest.fixture
def world(app):
    with money_world(consumers=0) as built:
        yield built


def _seed(world, per_payee: int = 3) -> list:
    """Available entries for the store, two distributors and four consumer-promoters (committed)."""
    with world.system() as session:
        net = world.net
        payees = [org_payee(net, key) for key in ("jingan", "east", "west")]
        payees += [consumer_payee(add_consumer(session, net, "jingan", phone=f"1380000000{i}"))
                   for i in range(4)]
        for payee in payees:
            for n in range(per_payee):
                entry(session, net, payee, 10_000 + n)
        session.commit()
    return payees


def _statements(world) -> list[Statement]:
    with world.system() as session:
        return list(session.scalars(select(Statement).where(Statement.tenant_id == world.tenant_id)))


def test_parallel_settlement_runs_make_exactly_one_statement_per_beneficiary_and_period(world):
    payees = _seed(world)

    def run(_: int) -> str:
        with world.system() as session:
            result = run_settlement(session, system_scope(world.tenant_id), now=NOW)
            session.commit()
            return f"statements={result.statements}"

    outcomes = parallel(N, run)
    made = sum(int(outcome.split("=")[1]) for outcome in outcomes)
    statements = _statements(world)
    assert made == len(statements) == len(payees)
    assert Counter(s.beneficiary_id for s in statements) == Counter(p.id for p in payees)
    with world.system() as session:
        entries = session.scalars(select(DistributionEntry).where(
            DistributionEntry.tenant_id == world.tenant_id)).all()
    assert {e.status for e in entries} == {EntryStatus.settled}
    by_statement = Counter()
    for e in entries:
        by_statement[e.statement_id] += e.amount_minor
    assert {s.id: s.gross_minor for s in statements} == dict(by_statement)


def _approved_statement(world, payee, *, account: str | None = "acct_standin_payee") -> Statement:
    with world.system() as session:
        if account:
            payout_account(session, world.net, payee, account)
        entry(session, world.net, payee, 80_000)
        run_settlement(session, system_scope(world.tenant_id), now=NOW)
        statement = session.scalars(select(Statement).where(
            Statement.tenant_id == world.tenant_id, Statement.beneficiary_id == payee.id)).one()
        session.commit()
    brand = scope_of_brand(world)
    with world.session(brand) as session:
        payouts.approve_statement(session, brand, statement.id)
        session.commit()
    return statement


def scope_of_brand(world):
    """The brand's finance (a user of the brand root with the finance role)."""
    with world.system() as session:
        return staff_scope(session, tenant=session.get(Tenant, world.tenant_id),
                           org=brand_root(session, world.tenant_id), role=Role.finance,
                           actor_kind=ActorKind.staff, actor_id=world.net.users["brand"].id)


def _claim(world, statement) -> Payout:
    brand = scope_of_brand(world)
    with world.session(brand) as session:
        payout = payouts.pay_statement(session, brand, statement.id)
        session.info.pop("after_commit", None)  # the test sends it, in parallel, below
        session.commit()
    return payout


def _state(world, statement) -> tuple[Statement, list[Payout], int]:
    with world.system() as session:
        fresh = session.get(Statement, (world.tenant_id, statement.id))
        rows = list(session.scalars(select(Payout).where(Payout.statement_id == statement.id)
                                    .order_by(Payout.attempt)))
        posted = session.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.tenant_id == world.tenant_id, JournalEntry.kind == "distribution_payout"))
        assert trial_balance(session, world.tenant_id) == 0
        return fresh, rows, posted


def test_a_payout_sent_again_and_again_in_parallel_pays_once(world, app):
    statement = _approved_statement(world, org_payee(world.net, "jingan"))
    payout = _claim(world, statement)

    def send(i: int) -> str:
        with app.app_context():
            if i % 2:
                return str(resend_claimed_payouts(tenant_id=world.tenant_id, gateway=world.gateway))
            return send_payout_now(tenant_id=world.tenant_id, payout_id=payout.id, gateway=world.gateway)

    parallel(N, send)
    fresh, rows, posted = _state(world, statement)
    transfers = world.standin.state.transfers
    assert len(transfers) == 1 and list(transfers.values())[0]["amount"] == statement.net_minor
    assert world.standin.state.transfers_by_key == {payout.idempotency_key: list(transfers)}
    assert fresh.status is StatementStatus.paid
    assert [(r.status, r.gateway_ref) for r in rows] == [(PayoutStatus.sent, list(transfers)[0])]
    assert posted == 1


class LosesAnswers:
    """The gateway takes the request, then the answer is lost (timeout) the first `n` times."""

    def __init__(self, gateway, n: int):
        self.gateway, self.n, self.name = gateway, n, gateway.name

    def transfer(self, **request):
        from app.payments.gateway import GatewayError  # noqa: PLC0415

        answer = self.gateway.transfer(**request)
        if self.n > 0:
            self.n -= 1
            raise GatewayError("read timeout")
        return answer


def test_a_transfer_whose_answer_was_lost_is_sent_again_with_the_same_request(world, app):
    statement = _approved_statement(world, org_payee(world.net, "east"))
    payout = _claim(world, statement)
    flaky = LosesAnswers(world.gateway, 2)
    with app.app_context():
        assert send_payout_now(tenant_id=world.tenant_id, payout_id=payout.id, gateway=flaky) == "retry_later"
        assert resend_claimed_payouts(tenant_id=world.tenant_id, gateway=flaky) == {"retry_later": 1}
        assert resend_claimed_payouts(tenant_id=world.tenant_id, gateway=flaky) == {"sent": 1}
    posts = world.standin.state.calls("POST", "/v1/transfers")
    assert len(posts) == 3 and len({(r.idempotency_key, tuple(sorted(r.form.items()))) for r in posts}) == 1
    assert len(world.standin.state.transfers) == 1
    assert _state(world, statement)[0].status is StatementStatus.paid


def test_a_payout_the_gateway_keeps_refusing_reopens_the_statement(world, app):
    statement = _approved_statement(world, org_payee(world.net, "west"))
    payout = _claim(world, statement)
    world.standin.state.fail_transfers = payouts.MAX_TRIES
    with app.app_context():
        outcomes = [send_payout_now(tenant_id=world.tenant_id, payout_id=payout.id, gateway=world.gateway)
                    for _ in range(payouts.MAX_TRIES)]
    assert outcomes == ["retry_later"] * (payouts.MAX_TRIES - 1) + ["failed"]
    fresh, rows, posted = _state(world, statement)
    assert fresh.status is StatementStatus.reopened and rows[0].status is PayoutStatus.failed
    assert posted == 0 and world.standin.state.transfers == {}


def test_a_transfer_reversed_after_it_was_sent_reopens_and_the_next_attempt_has_a_new_key(world, app):
    statement = _approved_statement(world, org_payee(world.net, "jingan"))
    payout = _claim(world, statement)
    with app.app_context():
        outcome = send_payout_now(tenant_id=world.tenant_id, payout_id=payout.id, gateway=world.gateway)
    assert outcome == "sent"
    transfer_id = next(iter(world.standin.state.transfers))
    world.standin.state.reverse_transfer(transfer_id)
    metadata = world.standin.state.transfers[transfer_id]["metadata"]
    forwarded = SimpleNamespace(  # payment.transfer_reversed, as the payments webhook forwards it
        tenant_id=world.tenant_id, payload={"transfer_id": transfer_id, "metadata": metadata})
    with world.system() as session:
        reopen_on_transfer_reversed(session, forwarded)
        reopen_on_transfer_reversed(session, forwarded)  # delivered twice
        assert payouts.payout_reversed(session, tenant_id=world.tenant_id,
                                       transfer_id=transfer_id) == "already_reversed"
        session.commit()
    fresh, rows, _ = _state(world, statement)
    assert fresh.status is StatementStatus.reopened and rows[0].status is PayoutStatus.reversed
    with world.system() as session:
        statuses = set(session.scalars(select(DistributionEntry.status).where(
            DistributionEntry.statement_id == statement.id)))
    assert statuses == {EntryStatus.settled}
    brand = scope_of_brand(world)
    with world.session(brand) as session:
        payouts.approve_statement(session, brand, statement.id)
        session.commit()
    second = _claim(world, statement)
    assert second.attempt == 2 and second.idempotency_key != payout.idempotency_key
    with app.app_context():
        outcome = send_payout_now(tenant_id=world.tenant_id, payout_id=second.id, gateway=world.gateway)
    assert outcome == "sent"
    fresh, rows, posted = _state(world, statement)
    assert fresh.status is StatementStatus.paid and len(world.standin.state.transfers) == 2
    assert [r.status for r in rows] == [PayoutStatus.reversed, PayoutStatus.sent]


def test_parallel_withdrawals_of_one_promoter_take_the_money_once(world):
    from app.distribution.withdrawals import request_withdrawal
    from app.tenancy.resolve import consumer_scope

    with world.system() as session:
        person = add_consumer(session, world.net, "jingan", phone="13800009999")
        payee = consumer_payee(person)
        for _ in range(5):
            entry(session, world.net, payee, 4_000, available_at=NOW - timedelta(days=1))
        session.commit()
    promoter = consumer_scope(world.tenant_id, person.id)

    def withdraw(_: int) -> str:
        with world.session(promoter) as session:
            statement = request_withdrawal(session, promoter)
            session.commit()
            return f"gross={statement.gross_minor}"

    outcomes = parallel(N, withdraw)
    assert outcomes == Counter({"gross=19800": 1, "withdrawal_below_minimum": N - 1})  # 20,000 less 1%
    with world.system() as session:
        taken = session.scalars(select(Statement).where(Statement.beneficiary_id == person.id)).all()
    assert len(taken) == 1 and taken[0].net_minor == 19_800 - taken[0].withholding_minor
