"""Personal data shown at the fidelity in scope: `full` as is, `masked` partly hidden."""

from app.tenancy.enums import Fidelity


def mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str | None) -> str | None:
    """A mobile number (11+ characters) keeps its first 3 and last 4; anything shorter keeps at
    most a quarter at each end, so at least half of it is hidden (a short number is guessable)."""
    if not phone:
        return phone
    digits = phone.strip()
    n = len(digits)
    if n <= 4:
        return "*" * n
    head, tail = (3, 4) if n >= 11 else (n // 4, n // 4)
    return digits[:head] + "*" * (n - head - tail) + digits[n - tail:]


def mask_text(value: str | None) -> str | None:
    return "***" if value else value


MASKS = {"name": mask_name, "phone": mask_phone, "address": mask_text, "openid": mask_text}


def redact_free_text(row: dict, fidelity: Fidelity, fields: tuple[str, ...]) -> dict:
    """Free text someone typed (order notes, refund reasons, history notes) can hold anything
    personal — a phone number, an address — so below `full` it is hidden whole."""
    if fidelity is Fidelity.full:
        return row
    return {**row, **{key: mask_text(row.get(key)) for key in fields if key in row}}


def present(row: dict, fidelity: Fidelity, personal: tuple[str, ...]) -> dict:
    """A copy of `row` with its personal fields masked unless the fidelity is full."""
    if fidelity is Fidelity.full:
        return {**row, "fidelity": fidelity}
    masked = {key: MASKS.get(key, mask_text)(row.get(key)) for key in personal if key in row}
    return {**row, **masked, "fidelity": fidelity}
