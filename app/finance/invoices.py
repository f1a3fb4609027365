"""Invoice data (发票): VAT inside tax-inclusive prices, and the buyer's invoice title and tax id.

We do not issue invoices; we keep what the tax tool needs (exported by `invoice_export`):
- a VAT rate per SKU (`skus.tax_rate_bp`, basis points), else the tenant's default
  (`settings.finance.default_tax_rate_bp`, else 13%: China's standard rate on goods);
- per order line, at placement: the rate and the tax included in the line's paid total
  (prices are tax-inclusive: tax = total × rate / (1 + rate), rounded half up);
- the buyer's invoice title (抬头) and tax id (纳税人识别号): a B2B order asks for both, a
  consumer may ask for a title alone (an individual) or both (a company);
- red-letter (红字) data for refunds: the refunded amount and its share of the line's tax.
"""

import re

from app.finance.errors import InvalidInvoiceRequest

DEFAULT_TAX_RATE_BP = 1300
BP = 10_000

# 统一社会信用代码: 18 characters from this alphabet, the last a check character (GB 32100-2015).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LEGACY_TAX_ID = re.compile(r"^[0-9A-Z]{15}$|^[0-9A-Z]{17}$|^[0-9A-Z]{20}$")  # older 税号 forms


def tax_included(total_minor: int, rate_bp: int) -> int:
    """The VAT inside a tax-inclusive amount, rounded half up (integers only)."""
    if total_minor <= 0 or rate_bp <= 0:
        return 0
    return (2 * total_minor * rate_bp + BP + rate_bp) // (2 * (BP + rate_bp))


def share_of_tax(line_tax_minor: int, line_total_minor: int, part_minor: int) -> int:
    """The tax in `part_minor` of a line (a refund), proportional and rounded half up."""
    if line_total_minor <= 0:
        return 0
    return (2 * line_tax_minor * part_minor + line_total_minor) // (2 * line_total_minor)


def default_rate(settings: dict | None) -> int:
    rate = ((settings or {}).get("finance") or {}).get("default_tax_rate_bp", DEFAULT_TAX_RATE_BP)
    if not isinstance(rate, int) or isinstance(rate, bool) or not 0 <= rate <= BP:
        return DEFAULT_TAX_RATE_BP
    return rate


def valid_tax_id(tax_id: str) -> bool:
    """A unified social credit code with a right check character, or an older tax id form."""
    if len(tax_id) == 18 and all(c in USCC_ALPHABET for c in tax_id):
        total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(tax_id[:17], USCC_WEIGHTS, strict=True))
        return USCC_ALPHABET[(31 - total % 31) % 31] == tax_id[17]
    return bool(LEGACY_TAX_ID.match(tax_id))


def invoice_fields(invoice: dict | None, *, b2b: bool) -> dict:
    """The order's invoice_title and invoice_tax_id from the request, validated (422 otherwise)."""
    if not invoice:
        return {"invoice_title": None, "invoice_tax_id": None}
    title = (invoice.get("title") or "").strip()
    tax_id = (invoice.get("tax_id") or "").strip().upper() or None
    if not title:
        raise InvalidInvoiceRequest("An invoice needs its title (抬头).")
    if b2b and tax_id is None:
        raise InvalidInvoiceRequest("A B2B invoice needs the buyer's tax id (纳税人识别号).")
    if tax_id is not None and not valid_tax_id(tax_id):
        raise InvalidInvoiceRequest("That tax id is not a valid unified social credit code or tax number.")
    return {"invoice_title": title, "invoice_tax_id": tax_id}
