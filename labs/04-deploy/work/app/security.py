"""An optional API key for the prediction endpoints (lab 04).

No key configured (labs 02-03, a laptop run): every request passes. A key
configured (API_KEY, from a Kubernetes Secret): /predict and /predict/batch
need it in the X-API-Key header. Health endpoints stay open, so probes never
need the secret.
"""

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
    # TODO(lab04): README → Step 2. Refuse the request unless `supplied` equals
    # settings.api_key.get_secret_value(): compare with secrets.compare_digest
    # (not ==), and raise HTTPException with status.HTTP_401_UNAUTHORIZED and a
    # WWW-Authenticate: APIKey header.
    _ = (supplied, HTTPException, status)
