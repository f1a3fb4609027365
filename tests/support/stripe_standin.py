"""A local stand-in for the parts of Stripe's v1 API we call: checks requests as Stripe documents them."""

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}_standin{next(_ids):06d}"


@dataclass
class Recorded:
    method: str
    path: str
    form: dict
    idempotency_key: str | None
    authorization: str | None


class StripeError(Exception):
    def __init__(self, status: int, message: str, type_: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.body = status, {"error": {"type": type_, "message": message}}


def _require(form: dict, *names: str) -> None:
    missing = [name for name in names if not form.get(name)]
    if missing:
        raise StripeError(400, f"Missing required param: {missing[0]}.")


def _amount(form: dict) -> int:
    try:
        amount = int(form["amount"])
    except (KeyError, ValueError):
        raise StripeError(400, "Invalid integer: amount") from None
    if amount <= 0:
        raise StripeError(400, "Amount must be positive.")
    return amount


def _metadata(form: dict) -> dict:
    return {key[len("metadata["):-1]: value for key, value in form.items() if key.startswith("metadata[")}


@dataclass
class StripeStandIn:
    """Stripe-shaped objects in memory; idempotent replays; every request recorded."""

    refund_status: str = "succeeded"
    fee_percent: float = 0.029
    fee_fixed: int = 30
    dispute_fee: int = 1500  # Stripe's fee for a dispute, taken with the disputed amount
    requests: list[Recorded] = field(default_factory=list)
    payment_intents: dict = field(default_factory=dict)
    refunds: dict = field(default_factory=dict)
    transfers: dict = field(default_factory=dict)
    disputes: dict = field(default_factory=dict)
    balance_transactions: list = field(default_factory=list)
    payouts: dict = field(default_factory=dict)
    transfers_by_key: dict = field(default_factory=dict)  # idempotency key → the one transfer id
    fail_transfers: int = 0  # refuse the next n transfer requests (as Stripe does, e.g. no balance)
    _replays: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- test controls ------------------------------------------------------------------
    def succeed(self, pi_id: str, *, amount: int | None = None) -> dict:
        """The customer paid: a charge, its balance transaction (with fee), status succeeded."""
        pi = self.payment_intents[pi_id]
        received = pi["amount"] if amount is None else amount
        charge_id = _new_id("ch")
        fee = round(received * self.fee_percent) + self.fee_fixed
        self.balance_transactions.append(self._bt(received, fee, "charge", charge_id, pi["currency"]))
        pi.update(status="succeeded", latest_charge=charge_id, amount_received=received)
        return pi

    def fail(self, pi_id: str) -> dict:
        pi = self.payment_intents[pi_id]
        pi.update(status="requires_payment_method",
                  last_payment_error={"code": "card_declined", "message": "Your card was declined."})
        return pi

    def settle_refund(self, refund_id: str, status: str = "succeeded") -> dict:
        refund = self.refunds[refund_id]
        refund["status"] = status
        return refund

    def charge(self, pi_id: str) -> dict:
        """The PaymentIntent's latest Charge as API 2022-11-15+ sends it: no embedded `refunds` list."""
        pi = self.payment_intents[pi_id]
        refunded = sum(r["amount"] for r in self.refunds.values()
                       if r["payment_intent"] == pi_id and r["status"] in ("pending", "succeeded"))
        return {"object": "charge", "id": pi["latest_charge"], "payment_intent": pi_id,
                "amount": pi["amount_received"], "amount_captured": pi["amount_received"],
                "amount_refunded": refunded, "refunded": refunded >= pi["amount_received"],
                "currency": pi["currency"], "status": "succeeded", "metadata": dict(pi["metadata"])}

    def refund_from_dashboard(self, pi_id: str, amount: int, status: str = "succeeded") -> dict:
        """Someone refunded in the Stripe dashboard: a refund without our metadata."""
        pi = self.payment_intents[pi_id]
        refund = {"object": "refund", "id": _new_id("re"), "amount": amount, "currency": pi["currency"],
                  "payment_intent": pi_id, "charge": pi["latest_charge"], "status": status,
                  "metadata": {}, "created": int(time.time())}
        self.refunds[refund["id"]] = refund
        self.balance_transactions.append(self._bt(-amount, 0, "refund", refund["id"], pi["currency"]))
        return refund

    def dispute(self, pi_id: str, status: str = "needs_response") -> dict:
        """The card holder disputes the whole charge; Stripe withdraws the amount at once."""
        pi = self.payment_intents[pi_id]
        dispute = {"object": "dispute", "id": _new_id("dp"), "amount": pi["amount_received"],
                   "currency": pi["currency"], "charge": pi["latest_charge"], "payment_intent": pi_id,
                   "status": status, "reason": "fraudulent", "created": int(time.time())}
        self.disputes[dispute["id"]] = dispute
        self.balance_transactions.append(self._bt(-dispute["amount"], self.dispute_fee, "dispute",
                                                  dispute["id"], pi["currency"]))
        return dispute

    def close_dispute(self, dispute_id: str, status: str) -> dict:
        dispute = self.disputes[dispute_id]
        if status == "won" and dispute["status"] != "won":  # the funds come back; the fee does not
            self.balance_transactions.append(self._bt(dispute["amount"], 0, "dispute_reversal", dispute_id,
                                                      dispute["currency"]))
        dispute["status"] = status  # won | lost
        return dispute

    def payout(self) -> dict:
        """Pay out everything not yet paid out: a payout, its own balance transaction, and each
        included transaction marked with it (what `balance_transactions?payout=` lists)."""
        included = [bt for bt in self.balance_transactions if not bt.get("payout")]
        amount = sum(bt["net"] for bt in included)
        currency = included[0]["currency"] if included else "cny"
        payout = {"object": "payout", "id": _new_id("po"), "amount": amount, "currency": currency,
                  "status": "paid", "created": int(time.time()), "arrival_date": int(time.time()),
                  "automatic": True}
        self.payouts[payout["id"]] = payout
        own = self._bt(-amount, 0, "payout", payout["id"], currency)
        for bt in [*included, own]:
            bt["payout"] = payout["id"]
        self.balance_transactions.append(own)
        return payout

    def source_object(self, source: str) -> dict | None:
        """A balance transaction's source as `expand[]=data.source` returns it (PaymentIntent expanded)."""
        if source.startswith("ch_"):
            pi = next((p for p in self.payment_intents.values() if p.get("latest_charge") == source), None)
            if pi is None:
                return {"object": "charge", "id": source, "metadata": {}}
            return {**self.charge(pi["id"]), "payment_intent": pi}
        for objects in (self.refunds, self.disputes, self.transfers, self.payouts):
            if source in objects:
                found = dict(objects[source])
                if found.get("payment_intent") in self.payment_intents:
                    found["payment_intent"] = self.payment_intents[found["payment_intent"]]
                return found
        return None

    def cancel(self, pi_id: str) -> dict:
        pi = self.payment_intents[pi_id]
        pi.update(status="canceled", cancellation_reason="abandoned")
        return pi

    def reverse_transfer(self, transfer_id: str) -> dict:
        """Someone reversed a transfer outside the app (dashboard, or the platform's own process)."""
        return self._create_reversal(transfer_id, {})

    def calls(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # --- the API ------------------------------------------------------------------------
    def handle(self, method: str, path: str, form: dict, key: str | None, auth: str | None):
        with self._lock:
            self.requests.append(Recorded(method, path, form, key, auth))
            if not (auth or "").startswith("Bearer sk_"):
                raise StripeError(401, "Invalid API Key provided.", "authentication_error")
            if method == "POST" and key and key in self._replays:
                previous_path, previous_form, response = self._replays[key]
                if (previous_path, previous_form) != (path, form):
                    raise StripeError(400, "Keys for idempotent requests can only be used with "
                                           "the same parameters they were first used with.",
                                      "idempotency_error")
                return response
            response = self._route(method, path, form)
            if method == "POST" and key:
                self._replays[key] = (path, form, response)
            if method == "POST" and path == "/v1/transfers":
                self.transfers_by_key.setdefault(key, []).append(response["id"])
            return response

    def _route(self, method: str, path: str, form: dict):
        parts = path.strip("/").split("/")
        if parts[0] != "v1":
            raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")
        match method, parts[1:]:
            case "POST", ["payment_intents"]:
                return self._create_payment_intent(form)
            case "GET", ["payment_intents", pi_id]:
                return self._get(self.payment_intents, pi_id, "payment_intent")
            case "POST", ["refunds"]:
                return self._create_refund(form)
            case "GET", ["refunds"]:
                return self._list_refunds(form)
            case "POST", ["transfers"]:
                return self._create_transfer(form)
            case "POST", ["transfers", transfer_id, "reversals"]:
                return self._create_reversal(transfer_id, form)
            case "GET", ["balance_transactions"]:
                return self._list_balance_transactions(form)
            case "GET", ["payouts"]:
                return self._list_payouts(form)
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")

    def _get(self, objects: dict, object_id: str, name: str) -> dict:
        if object_id not in objects:
            raise StripeError(404, f"No such {name}: '{object_id}'", "invalid_request_error")
        return objects[object_id]

    def _create_payment_intent(self, form: dict) -> dict:
        _require(form, "amount", "currency", "metadata[order_id]", "transfer_group")
        pi_id = _new_id("pi")
        pi = {"object": "payment_intent", "id": pi_id, "amount": _amount(form),
              "amount_received": 0, "currency": form["currency"], "status": "requires_payment_method",
              "client_secret": f"{pi_id}_secret_standin", "latest_charge": None,
              "transfer_group": form["transfer_group"], "metadata": _metadata(form),
              "created": int(time.time()), "livemode": False}
        self.payment_intents[pi_id] = pi
        return pi

    def _create_refund(self, form: dict) -> dict:
        _require(form, "payment_intent", "amount")
        pi = self._get(self.payment_intents, form["payment_intent"], "payment_intent")
        amount = _amount(form)
        refunded = sum(r["amount"] for r in self.refunds.values()
                       if r["payment_intent"] == pi["id"] and r["status"] != "failed")
        if pi["status"] != "succeeded":
            raise StripeError(400, f"PaymentIntent {pi['id']} does not have a successful charge to refund.")
        if refunded + amount > pi["amount_received"]:
            raise StripeError(400, "Refund amount is greater than the unrefunded amount on the charge.")
        refund = {"object": "refund", "id": _new_id("re"), "amount": amount, "currency": pi["currency"],
                  "payment_intent": pi["id"], "charge": pi["latest_charge"],
                  "status": self.refund_status, "metadata": _metadata(form), "created": int(time.time())}
        self.refunds[refund["id"]] = refund
        self.balance_transactions.append(self._bt(-amount, 0, "refund", refund["id"], pi["currency"]))
        return refund

    def _list_refunds(self, query: dict) -> dict:
        """Newest first, like Stripe; filtered by payment_intent."""
        rows = [r for r in reversed(list(self.refunds.values()))
                if not query.get("payment_intent") or r["payment_intent"] == query["payment_intent"]]
        limit = int(query.get("limit", 10))
        start = 0
        if query.get("starting_after"):
            start = next(i for i, r in enumerate(rows) if r["id"] == query["starting_after"]) + 1
        page = rows[start:start + limit]
        return {"object": "list", "url": "/v1/refunds", "has_more": start + limit < len(rows), "data": page}

    def _create_transfer(self, form: dict) -> dict:
        if self.fail_transfers > 0:
            self.fail_transfers -= 1
            raise StripeError(400, "You have insufficient available funds in your Stripe account.")
        _require(form, "amount", "currency", "destination")
        if not form["destination"].startswith("acct_"):
            raise StripeError(400, "No such destination account.")
        source = form.get("source_transaction")
        if source and not source.startswith("ch_"):
            raise StripeError(400, "source_transaction must be a charge id (ch_...).")
        transfer = {"object": "transfer", "id": _new_id("tr"), "amount": _amount(form),
                    "currency": form["currency"], "destination": form["destination"],
                    "source_transaction": source, "transfer_group": form.get("transfer_group"),
                    "reversed": False, "amount_reversed": 0, "metadata": _metadata(form),
                    "created": int(time.time())}
        self.transfers[transfer["id"]] = transfer
        self.balance_transactions.append(self._bt(-transfer["amount"], 0, "transfer", transfer["id"],
                                                  transfer["currency"]))
        return transfer

    def _create_reversal(self, transfer_id: str, form: dict) -> dict:
        transfer = self._get(self.transfers, transfer_id, "transfer")
        amount = _amount(form) if "amount" in form else transfer["amount"] - transfer["amount_reversed"]
        if transfer["amount_reversed"] + amount > transfer["amount"]:
            raise StripeError(400, "Reversal amount exceeds the transfer's unreversed amount.")
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        reversal = {"object": "transfer_reversal", "id": _new_id("trr"), "amount": amount,
                    "currency": transfer["currency"], "transfer": transfer_id, "created": int(time.time())}
        self.balance_transactions.append(self._bt(amount, 0, "transfer_reversal", reversal["id"],
                                                  transfer["currency"]))
        return reversal

    def _list_balance_transactions(self, query: dict) -> dict:
        """Newest first, like Stripe; by source or by payout; `expand[]=data.source` expands sources."""
        rows = [bt for bt in reversed(self.balance_transactions)
                if (not query.get("source") or bt["source"] == query["source"])
                and (not query.get("payout") or bt.get("payout") == query["payout"])]
        page, has_more = self._page(rows, query)
        if "data.source" in {value for key, value in query.items() if key.startswith("expand")}:
            page = [{**bt, "source": self.source_object(bt["source"]) or bt["source"]} for bt in page]
        return {"object": "list", "url": "/v1/balance_transactions", "has_more": has_more, "data": page}

    def _list_payouts(self, query: dict) -> dict:
        since = int(query.get("created[gte]", 0))
        rows = [po for po in reversed(list(self.payouts.values())) if po["created"] >= since]
        page, has_more = self._page(rows, query)
        return {"object": "list", "url": "/v1/payouts", "has_more": has_more, "data": page}

    @staticmethod
    def _page(rows: list, query: dict) -> tuple[list, bool]:
        limit = int(query.get("limit", 10))
        start = 0
        if query.get("starting_after"):
            start = next(i for i, row in enumerate(rows) if row["id"] == query["starting_after"]) + 1
        return rows[start:start + limit], start + limit < len(rows)

    def _bt(self, amount: int, fee: int, category: str, source: str, currency: str) -> dict:
        return {"object": "balance_transaction", "id": _new_id("txn"), "amount": amount, "fee": fee,
                "net": amount - fee, "currency": currency, "reporting_category": category,
                "type": category, "source": source, "status": "available", "created": int(time.time())}


class _Handler(BaseHTTPRequestHandler):
    standin: StripeStandIn

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        form = dict(parse_qsl(body if method == "POST" else url.query, keep_blank_values=True))
        try:
            status, payload = 200, self.standin.handle(
                method, url.path, form, self.headers.get("Idempotency-Key"),
                self.headers.get("Authorization"))
        except StripeError as error:
            status, payload = error.status, error.body
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", _new_id("req"))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")


class RunningStandIn:
    """The stand-in served on 127.0.0.1 at a random port, in a daemon thread."""

    def __init__(self) -> None:
        self.state = StripeStandIn()
        handler = type("Handler", (_Handler,), {"standin": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "RunningStandIn":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
