"""A local stand-in for WeChat's jscode2session, served by http.server on a random port."""

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

INVALID_CODE = {"errcode": 40029, "errmsg": "invalid code"}


@dataclass
class WeChatStandIn:
    """Codes it knows map to answers; anything else is 'invalid code', as WeChat does."""

    appid: str
    secret: str
    answers: dict[str, dict] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)
    base_url: str = ""

    def knows(self, code: str, *, openid: str, unionid: str | None = None) -> None:
        answer = {"openid": openid, "session_key": f"sk-{openid}"}
        if unionid:
            answer["unionid"] = unionid
        self.answers[code] = answer

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict]:
        self.requests.append(query)
        if path != "/sns/jscode2session":
            return 404, {"errcode": 404, "errmsg": "not found"}
        if query.get("appid") != self.appid or query.get("secret") != self.secret:
            return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
        if query.get("grant_type") != "authorization_code":
            return 200, {"errcode": 40002, "errmsg": "invalid grant_type"}
        return 200, self.answers.get(query.get("js_code", ""), INVALID_CODE)


def _handler_for(stand_in: WeChatStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            url = urlsplit(self.path)
            query = {name: values[-1] for name, values in parse_qs(url.query).items()}
            status, body = stand_in.answer(url.path, query)
            payload = json.dumps(body).encode()
            self.send_response(status)
            # WeChat really answers JSON as text/plain.
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    return Handler


@contextmanager
def running_wechat(appid: str = "wx-test-appid", secret: str = "wx-test-secret"):
    """Serve a WeChatStandIn on 127.0.0.1 (random port) for the duration of the block."""
    stand_in = WeChatStandIn(appid=appid, secret=secret)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(stand_in))
    stand_in.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

