"""The answers other than 200 that each route can give, for the OpenAPI document:
a client, or an SDK generated from it, sees every status it must handle. FastAPI
documents 422 (validation) by itself."""

Doc = dict[int | str, dict[str, str]]

NOT_READY: Doc = {503: {"description": "The model is not loaded (yet): /readyz tells when"}}
FAILED: Doc = {500: {"description": "An unexpected error; the request id finds it in the logs"}}
TOO_LARGE: Doc = {413: {"description": "The body is larger than MAX_BODY_BYTES"}}
NO_KEY: Doc = {401: {"description": "X-API-Key is missing or wrong (when API_KEY is set)"}}

MODEL: Doc = {**NOT_READY, **FAILED}
PREDICT: Doc = {**TOO_LARGE, **NOT_READY, **FAILED}
PREDICT_WITH_KEY: Doc = {**NO_KEY, **PREDICT}
