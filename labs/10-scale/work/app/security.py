"""An optional API key for the prediction endpoints (lab 04).

No key configured (labs 02-03, a laptop run): every request passes. A key
configured (API_KEY, from a Kubernetes Secret): /predict and /predict/batch
need it in the X-API-Key header. Health endpoints stay open, so probes never
need the secret.
"""

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Security, status
from fastapi.security import APIKeyHeader

from app.config import Settings, get_settings

# auto_error=False: a missing header is our 401, not FastAPI's 403.
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def require_api_key(
    settings: Annotated[Settings, Depends(get_settings)],
    supplied: Annotated[str | None, Security(api_key_header)],
) -> None:
    if settings.api_key is None:
        return
    expected = settings.api_key.get_secret_value().encode()
    # compare_digest takes as long for a near miss as for a wild guess, so the
    # response time tells an attacker nothing about the key.
    if supplied is None or not secrets.compare_digest(supplied.encode(), expected):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong API key (send it in the X-API-Key header)",
            headers={"WWW-Authenticate": "APIKey"},
        )
