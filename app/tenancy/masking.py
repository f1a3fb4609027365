"""Personal data shown at the fidelity in scope: `full` as is, `masked` partly hidden."""

from app.tenancy.enums import Fidelity


def mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7 if len(digits) > 7 else len(digits) - 3) + (
        digits[-4:] if len(digits) > 7 else "")


def mask_text(value: str | None) -> str | None:
    return "***" if value else value


MASKS = {"name": mask_name, "phone": mask_phone, "address": mask_text, "openid": mask_text}


def present(row: dict, fidelity: Fidelity, personal: tuple[str, ...]) -> dict:
    """A copy of `row` with its personal fields masked unless the fidelity is full."""
    if fidelity is Fidelity.full:
        return {**row, "fidelity": fidelity}
    masked = {key: MASKS.get(key, mask_text)(row.get(key)) for key in personal if key in row}
    return {**row, **masked, "fidelity": fidelity}
