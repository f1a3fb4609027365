"""Expiring download links: a token signed with the app's secret naming the job and the asker."""

import uuid

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.errors import NotFound
from app.finance.errors import ExportLinkExpired

SALT = "tiermall.finance.export-link"


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def sign_link(secret_key: str, *, job_id: uuid.UUID, actor_id: uuid.UUID) -> str:
    return _serializer(secret_key).dumps({"job": str(job_id), "actor": str(actor_id)})


def check_link(secret_key: str, token: str, *, job_id: uuid.UUID, actor_id: uuid.UUID | None,
               max_age: int) -> None:
    """Refuse a link that is expired (410) or not for this job and caller (404, like a missing job)."""
    try:
        claims = _serializer(secret_key).loads(token, max_age=max_age)
    except SignatureExpired:
        raise ExportLinkExpired("The download link has expired; ask for a new one.") from None
    except BadSignature:
        raise NotFound("No export job with that id.") from None
    if claims != {"job": str(job_id), "actor": str(actor_id)}:
        raise NotFound("No export job with that id.")
