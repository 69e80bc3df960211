"""The ceiling: the same stack (uvicorn, FastAPI) answering a constant.

It reads the request body like a real endpoint would, and does nothing else:
no validation, no model. No service on this stack can be faster.
"""

from fastapi import FastAPI, Request, Response

app = FastAPI()
ANSWER = b'{"prediction":152.0}'


@app.post("/predict")
async def predict(request: Request) -> Response:
    await request.body()
    return Response(ANSWER, media_type="application/json")


@app.get("/healthz")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")
