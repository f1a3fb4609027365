"""Consumer login providers: WeChat mini-program code2session, and a dev provider for the demo."""

from dataclasses import dataclass
from typing import Protocol

import requests

from app.auth.errors import InvalidCredentials, LoginProviderUnavailable
from app.tenancy.models import Tenant


@dataclass(frozen=True)
class ProviderIdentity:
    openid: str
    unionid: str | None = None


class LoginProvider(Protocol):
    def exchange(self, tenant: Tenant, code: str) -> ProviderIdentity: ...


# -1 system busy, 45011 too many calls: WeChat's trouble, not a wrong code.
WECHAT_BUSY_CODES = frozenset({-1, 45011})


class WeChatProvider:
    """GET /sns/jscode2session: trades a wx.login() code for the openid (and unionid)."""

    def __init__(self, base_url: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def exchange(self, tenant: Tenant, code: str) -> ProviderIdentity:
        if not (tenant.wechat_appid and tenant.wechat_secret):
            raise LoginProviderUnavailable("This tenant has no WeChat mini-program configured.")
        try:
            response = requests.get(
                f"{self.base_url}/sns/jscode2session",
                params={"appid": tenant.wechat_appid, "secret": tenant.wechat_secret,
                        "js_code": code, "grant_type": "authorization_code"},
                timeout=self.timeout,
            )
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as error:
            raise LoginProviderUnavailable("WeChat did not answer the login.") from error
        if not isinstance(body, dict):
            raise LoginProviderUnavailable("WeChat answered the login with something unexpected.")
        errcode = body.get("errcode") or 0
        if errcode in WECHAT_BUSY_CODES:
            raise LoginProviderUnavailable(f"WeChat is busy ({errcode}); try again.")
        if errcode or not isinstance(body.get("openid"), str) or not body["openid"]:
            # 40029 invalid code, 40163 code already used, ...: the code is the caller's fault.
            raise InvalidCredentials(f"WeChat refused the login code ({errcode}).")
        unionid = body.get("unionid")
        return ProviderIdentity(openid=body["openid"],
                                unionid=unionid if isinstance(unionid, str) and unionid else None)


class DevProvider:
    """Demo and tests only: the code 'dev-alice' logs in as openid 'dev-alice'."""

    def exchange(self, tenant: Tenant, code: str) -> ProviderIdentity:
        if not code.startswith("dev-") or len(code) < 5:
            raise InvalidCredentials("Dev login codes look like 'dev-<name>'.")
        return ProviderIdentity(openid=code)


def provider_from_config(config: dict) -> LoginProvider:
    if config["CONSUMER_LOGIN_PROVIDER"] == "dev":
        if config["TIERMALL_ENV"] == "production":  # also refused at start-up (check_config)
            raise InvalidCredentials("The dev consumer login is not available in production.")
        return DevProvider()
    return WeChatProvider(config["WECHAT_API_BASE"])
