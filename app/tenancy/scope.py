"""The caller's scope: one small value per request, read by the query helper and by RLS."""

import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import lru_cache

from app.tenancy.enums import ActorKind, Dataset, Fidelity, Role

ROOT_PATH = "/"


@dataclass(frozen=True, order=True)
class PathRule:
    """Rows owned at `prefix` (exactly, or anywhere below it) are seen at `fidelity`."""

    prefix: str
    exact: bool
    fidelity: Fidelity = field(compare=False)

    def matches(self, path: str) -> bool:
        return path == self.prefix if self.exact else path.startswith(self.prefix)

    def covers(self, other: "PathRule") -> bool:
        """Whether every path `other` matches is matched by this rule too."""
        return self.matches(other.prefix) and (not self.exact or other.exact)

    @property
    def specificity(self) -> tuple[int, bool]:
        return len(self.prefix), self.exact


@dataclass(frozen=True)
class DatasetView:
    """What a scope sees of one dataset; the most specific matching rule decides."""

    rules: tuple[PathRule, ...] = ()

    def fidelity_at(self, path: str) -> Fidelity:
        matching = [rule for rule in self.rules if rule.matches(path)]
        if not matching:
            return Fidelity.none
        return max(matching, key=lambda rule: rule.specificity).fidelity

    def visible_rules(self, at_least: Fidelity) -> list[tuple[PathRule, list[PathRule]]]:
        """Rules granting at least `at_least`, each with the narrower rules carved out of it."""
        result = []
        for rule in self.rules:
            if not rule.fidelity.at_least(at_least):
                continue
            carve_outs = [
                other for other in self.rules
                if other is not rule
                and not other.fidelity.at_least(at_least)
                and rule.covers(other)
                and other.specificity > rule.specificity
            ]
            result.append((rule, carve_outs))
        return result

    def max_fidelity(self) -> Fidelity:
        return max((rule.fidelity for rule in self.rules), default=Fidelity.none,
                   key=lambda f: f.rank)


@dataclass(frozen=True)
class Scope:
    """Who is calling, in which tenant, and what they may see of each dataset."""

    tenant_id: uuid.UUID | None
    actor_kind: ActorKind
    actor_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None
    org_path: str | None = None
    role: Role | None = None
    consumer_id: uuid.UUID | None = None
    views: dict[Dataset, DatasetView] = field(default_factory=dict)
    tenant_slug: str | None = None  # lets a login read its tenant's row, nothing else
    platform: bool = False  # lists tenants (for sweeps across tenants), nothing else
    # The weakest fidelity whose rows the database lets through: `masked` (rows) normally,
    # `aggregate` only inside a totals query (`for_totals`). Below it rows are carved out.
    rls_floor: Fidelity = Fidelity.masked

    def view(self, dataset: Dataset | None) -> DatasetView:
        """The view of a dataset; rows with no dataset (users, audit) follow the org subtree."""
        if dataset is None:
            if self.org_path is None:
                return DatasetView()
            return DatasetView((PathRule(self.org_path, False, Fidelity.full),))
        return self.views.get(dataset, DatasetView())

    def fidelity(self, dataset: Dataset | None, owner_path: str) -> Fidelity:
        return self.view(dataset).fidelity_at(owner_path)

    @property
    def is_staff(self) -> bool:
        return self.actor_kind in (ActorKind.staff, ActorKind.api_key)

    def for_totals(self) -> "Scope":
        """The same caller inside an aggregate query: the database also lets `aggregate` rows
        through (to be counted, never listed)."""
        return replace(self, rls_floor=Fidelity.aggregate)

    def rls_settings(self) -> dict[str, str]:
        """The transaction-local settings the RLS policies read ('' means: matches nothing)."""
        settings = {
            "app.tenant_id": str(self.tenant_id) if self.tenant_id else "",
            "app.tenant_slug": self.tenant_slug or "",
            "app.platform": "on" if self.platform else "",
            "app.org_path": self.org_path or "",
            "app.consumer_id": str(self.consumer_id) if self.consumer_id else "",
            "app.user_id": str(self.actor_id) if self.actor_kind is ActorKind.staff else "",
        }
        for dataset in Dataset:
            settings[f"app.more_{dataset.value}"] = ",".join(self._widening_prefixes(dataset))
            settings[f"app.less_{dataset.value}"] = ",".join(self._carve_outs(dataset))
        return settings

    def _widening_prefixes(self, dataset: Dataset) -> Iterable[str]:
        """Granted prefixes outside the own subtree: the database must let these through too."""
        for rule in self.view(dataset).rules:
            outside = self.org_path is None or not rule.prefix.startswith(self.org_path)
            if outside and rule.fidelity.at_least(self.rls_floor):
                yield rule.prefix

    def _carve_outs(self, dataset: Dataset) -> Iterable[str]:
        """Each rule below the floor as `prefix|exception|…`: its range is hidden except under a
        more specific rule at or above the floor (the most specific rule wins, as in the app).

        The own-rows rule (exact, always full) needs no entry: the policies never carve the
        caller's own path.
        """
        rules = [rule for rule in self.view(dataset).rules if not rule.exact]
        for low in rules:
            if low.fidelity.at_least(self.rls_floor):
                continue
            exceptions = [rule.prefix for rule in rules if rule.fidelity.at_least(self.rls_floor)
                          and low.covers(rule) and rule.specificity > low.specificity]
            yield "|".join([low.prefix, *exceptions])


@lru_cache(maxsize=4096)
def system_scope(tenant_id: uuid.UUID) -> Scope:
    """Everything in one tenant: for tasks, CLI commands and login look-ups.

    Cached: the same object each time, so entering it twice is recognised by identity.
    """
    everything = DatasetView((PathRule(ROOT_PATH, False, Fidelity.full),))
    return Scope(
        tenant_id=tenant_id,
        actor_kind=ActorKind.system,
        org_path=ROOT_PATH,
        views={dataset: everything for dataset in Dataset},
    )


def tenant_lookup_scope(slug: str) -> Scope:
    """Reads the one tenant with this slug; used before a login knows the tenant id."""
    return Scope(tenant_id=None, actor_kind=ActorKind.system, tenant_slug=slug)


PLATFORM_SCOPE = Scope(tenant_id=None, actor_kind=ActorKind.system, platform=True)

_current: ContextVar[Scope | None] = ContextVar("tiermall_scope", default=None)


def current_scope() -> Scope | None:
    return _current.get()


def set_current_scope(scope: Scope | None) -> None:
    _current.set(scope)
