"""Vocabulary of the network: org kinds, roles, datasets and fidelities."""

from enum import StrEnum


class OrgKind(StrEnum):
    brand = "brand"
    distributor = "distributor"
    store = "store"


class Role(StrEnum):
    owner = "owner"
    admin = "admin"
    finance = "finance"
    buyer = "buyer"
    guide = "guide"
    viewer = "viewer"


MANAGER_ROLES = frozenset({Role.owner, Role.admin})


class ActorKind(StrEnum):
    staff = "staff"
    api_key = "api_key"
    consumer = "consumer"
    system = "system"


class Dataset(StrEnum):
    orders = "orders"
    consumers = "consumers"
    inventory = "inventory"
    sales = "sales"
    commissions = "commissions"
    catalog = "catalog"


class Fidelity(StrEnum):
    """How much of a dataset a scope sees, weakest first."""

    none = "none"
    aggregate = "aggregate"
    masked = "masked"
    full = "full"

    @property
    def rank(self) -> int:
        return list(Fidelity).index(self)

    def at_least(self, other: "Fidelity") -> bool:
        return self.rank >= other.rank


class IdentityKind(StrEnum):
    wechat_openid = "wechat_openid"
    wechat_unionid = "wechat_unionid"
    phone = "phone"
    store_card = "store_card"


DEFAULT_UPSTREAM_FIDELITY = {
    Dataset.orders: Fidelity.masked,
    Dataset.consumers: Fidelity.masked,
    Dataset.inventory: Fidelity.full,
    Dataset.sales: Fidelity.full,
    Dataset.commissions: Fidelity.aggregate,
    Dataset.catalog: Fidelity.full,
}
