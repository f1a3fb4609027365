"""Property tests of the scope rules: random org trees and grants, views, the SQL filter, RLS settings."""

import uuid
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Integer, String, Uuid, create_engine, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from app.tenancy.enums import ActorKind, Dataset, Fidelity
from app.tenancy.filters import visible
from app.tenancy.resolve import build_views
from app.tenancy.scope import DatasetView, PathRule, Scope

MAX_DEPTH = 5
TENANT = uuid.UUID("00000000-0000-7000-8000-000000000001")
OTHER_TENANT = uuid.UUID("00000000-0000-7000-8000-000000000002")
VISIBLE_LEVELS = [Fidelity.aggregate, Fidelity.masked, Fidelity.full]

fidelities = st.sampled_from(list(Fidelity))
datasets = st.sampled_from(list(Dataset))


@dataclass(frozen=True)
class Tree:
    """Org paths by index; paths are built as app.tenancy.network does: parent.path + id + '/'."""

    paths: tuple[str, ...]

    def outside(self, viewer: int) -> list[str]:
        return [p for p in self.paths if not p.startswith(self.paths[viewer])]


@st.composite
def trees(draw, max_nodes: int = 30) -> Tree:
    """A random tree of depth <= 5; ids like 'o1' and 'o10' make sure prefixes end at a '/'."""
    size = draw(st.integers(1, max_nodes))
    paths, depths = ["/o0/"], [0]
    for index in range(1, size):
        parents = [i for i in range(index) if depths[i] < MAX_DEPTH]
        parent = draw(st.sampled_from(parents))
        paths.append(f"{paths[parent]}o{index}/")
        depths.append(depths[parent] + 1)
    return Tree(tuple(paths))


@st.composite
def networks(draw):
    """A tree, a viewing org, tenant defaults, and the grants made to the viewer.

    Grants are keyed like the table's unique key (grantor, grantee, dataset): one per grantor and
    dataset; an org never grants to itself.
    """
    tree = draw(trees())
    viewer = draw(st.integers(0, len(tree.paths) - 1))
    defaults = {dataset: draw(fidelities) for dataset in Dataset}
    raw = draw(st.lists(st.tuples(st.integers(0, len(tree.paths) - 1), datasets, fidelities),
                        max_size=12))
    grants = {}
    for grantor, dataset, fidelity in raw:
        if grantor != viewer:
            grants.setdefault((grantor, dataset), fidelity)
    grant_list = [(tree.paths[g], d, f) for (g, d), f in grants.items()]
    return tree, viewer, defaults, grant_list


def staff(org_path: str, views: dict[Dataset, DatasetView]) -> Scope:
    return Scope(tenant_id=TENANT, actor_kind=ActorKind.staff, org_path=org_path, views=views)


def reference_fidelity(rules: tuple[PathRule, ...], path: str) -> Fidelity:
    """Walk from the row's own path up to the root; the first rule found there decides."""
    by_key = {(rule.prefix, rule.exact): rule.fidelity for rule in rules}
    parts = path.strip("/").split("/")
    for depth in range(len(parts), 0, -1):
        prefix = "/" + "/".join(parts[:depth]) + "/"
        if prefix == path and (prefix, True) in by_key:
            return by_key[(prefix, True)]
        if (prefix, False) in by_key:
            return by_key[(prefix, False)]
    return Fidelity.none


@st.composite
def arbitrary_views(draw):
    """A tree and any set of path rules on its paths (one rule per prefix and exactness)."""
    tree = draw(trees())
    keyed = draw(st.dictionaries(
        st.tuples(st.sampled_from(tree.paths), st.booleans()), fidelities, max_size=10))
    rules = tuple(PathRule(prefix, exact, fidelity) for (prefix, exact), fidelity in keyed.items())
    return tree, DatasetView(rules)


# (a) -------------------------------------------------------------------------------------------

@given(networks())
def test_an_org_sees_nothing_outside_its_subtree_unless_a_grant_from_above_the_row_covers_it(net):
    tree, viewer, defaults, grants = net
    views = build_views(tree.paths[viewer], defaults, grants)
    for dataset in Dataset:
        granted = {path: fidelity for path, d, fidelity in grants if d is dataset}
        for row_path in tree.outside(viewer):
            covering = [path for path in granted if row_path.startswith(path)]
            nearest = max(covering, key=len, default=None)
            expected = granted[nearest] if nearest else Fidelity.none
            assert views[dataset].fidelity_at(row_path) is expected


@given(networks())
def test_an_org_sees_its_own_rows_in_full_and_its_subtree_at_the_default_unless_granted(net):
    tree, viewer, defaults, grants = net
    own = tree.paths[viewer]
    views = build_views(own, defaults, grants)
    for dataset in Dataset:
        assert views[dataset].fidelity_at(own) is Fidelity.full
        inner_grants = [p for p, d, _ in grants if d is dataset and p.startswith(own)]
        for row_path in tree.paths:
            if row_path.startswith(own) and row_path != own and not any(
                    row_path.startswith(p) for p in inner_grants):
                assert views[dataset].fidelity_at(row_path) is defaults[dataset]


# (b) -------------------------------------------------------------------------------------------

@given(arbitrary_views())
def test_fidelity_at_is_the_most_specific_matching_rule(tree_and_view):
    tree, view = tree_and_view
    for path in tree.paths:
        assert view.fidelity_at(path) is reference_fidelity(view.rules, path)


@given(networks())
def test_fidelity_at_of_built_views_is_the_most_specific_matching_rule(net):
    tree, viewer, defaults, grants = net
    for view in build_views(tree.paths[viewer], defaults, grants).values():
        for path in tree.paths:
            assert view.fidelity_at(path) is reference_fidelity(view.rules, path)


# (c) -------------------------------------------------------------------------------------------

class _Base(DeclarativeBase):
    pass


class Row(_Base):
    """An orders-like row; kept out of the application's metadata."""

    __tablename__ = "rows"
    __dataset__ = Dataset.orders

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    owner_path: Mapped[str] = mapped_column(String(1024))


_engine = create_engine("sqlite://")
_Base.metadata.create_all(_engine)


def sql_visible_paths(scope: Scope, paths: tuple[str, ...], at_least: Fidelity) -> set[str]:
    """Evaluate app.tenancy.filters.visible for real on SQLite over one row per path per tenant."""
    with Session(_engine) as session:
        rows = [{"tenant_id": tenant, "owner_path": path}
                for tenant in (TENANT, OTHER_TENANT) for path in paths]
        session.execute(insert(Row), rows)
        found = session.execute(
            select(Row.tenant_id, Row.owner_path).where(visible(Row, scope, at_least=at_least))
        ).all()
        session.rollback()
    assert all(tenant == TENANT for tenant, _ in found), "another tenant's row passed the filter"
    return {path for _, path in found}


def expected_paths(view: DatasetView, paths: tuple[str, ...], at_least: Fidelity) -> set[str]:
    return {path for path in paths if view.fidelity_at(path).at_least(at_least)}


@settings(max_examples=60, deadline=None)
@given(networks(), datasets)
def test_the_sql_filter_returns_exactly_the_rows_fidelity_at_grants(net, dataset):
    tree, viewer, defaults, grants = net
    views = build_views(tree.paths[viewer], defaults, grants)
    scope = staff(tree.paths[viewer], {Dataset.orders: views[dataset]})
    for level in VISIBLE_LEVELS:
        assert sql_visible_paths(scope, tree.paths, level) == expected_paths(
            views[dataset], tree.paths, level)


@settings(max_examples=60, deadline=None)
@given(arbitrary_views())
def test_the_sql_filter_agrees_with_fidelity_at_for_any_rules(tree_and_view):
    tree, view = tree_and_view
    scope = staff(tree.paths[0], {Dataset.orders: view})
    for level in VISIBLE_LEVELS:
        assert sql_visible_paths(scope, tree.paths, level) == expected_paths(view, tree.paths, level)


# (d) -------------------------------------------------------------------------------------------

@given(networks())
def test_rls_widening_settings_are_exactly_the_granted_prefixes_outside_the_own_subtree(net):
    tree, viewer, defaults, grants = net
    own = tree.paths[viewer]
    settings_ = staff(own, build_views(own, defaults, grants)).rls_settings()
    assert settings_["app.org_path"] == own
    for dataset in Dataset:
        value = settings_[f"app.more_{dataset.value}"]
        listed = value.split(",") if value else []
        expected = {path for path, d, fidelity in grants if d is dataset
                    and fidelity.at_least(Fidelity.masked) and not path.startswith(own)}
        assert len(listed) == len(set(listed))
        assert set(listed) == expected


def rls_lets_through(path: str, own: str, settings_: dict, dataset: Dataset) -> bool:
    """The read policy's subtree rule (rls_policies._seen) evaluated in Python, settings as strings."""
    def under(prefix: str) -> bool:
        return prefix <= path < prefix + "~"

    more = [p for p in settings_[f"app.more_{dataset.value}"].split(",") if p]
    less = [entry.split("|") for entry in settings_[f"app.less_{dataset.value}"].split(",") if entry]
    carved = any(under(low) and not any(under(keep) for keep in keeps) for low, *keeps in less)
    return (under(own) or any(under(p) for p in more)) and (path == own or not carved)


@given(networks())
def test_the_rls_settings_let_through_exactly_the_rows_the_app_filter_shows(net):
    """Both walls agree on rows: masked or better normally, aggregate or better for totals."""
    tree, viewer, defaults, grants = net
    own = tree.paths[viewer]
    scope = staff(own, build_views(own, defaults, grants))
    for floor, rls_scope in ((Fidelity.masked, scope), (Fidelity.aggregate, scope.for_totals())):
        settings_ = rls_scope.rls_settings()
        for dataset in Dataset:
            for path in tree.paths:
                expected = scope.fidelity(dataset, path).at_least(floor)
                assert rls_lets_through(path, own, settings_, dataset) == expected, (dataset, path)


def test_a_consumer_scope_carries_no_org_path_and_no_widening():
    scope = Scope(tenant_id=TENANT, actor_kind=ActorKind.consumer, consumer_id=uuid.uuid4())
    settings_ = scope.rls_settings()
    assert settings_["app.org_path"] == ""
    assert all(settings_[f"app.more_{dataset.value}"] == "" for dataset in Dataset)
