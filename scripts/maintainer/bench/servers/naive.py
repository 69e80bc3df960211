"""The source guide's design, reproduced as it runs once its typos are fixed: a
model loaded at import into a global, a plain `def` endpoint (so FastAPI runs it
in a thread), a one-row NumPy array, scikit-learn's predict on every request,
and a response model. Its one real bug (returning the ndarray) is fixed, or it
would answer 500.
"""

import os
from pathlib import Path

import numpy as np
import skops.io as sio
from fastapi import FastAPI
from pydantic import BaseModel

MODEL = Path(os.environ.get("MODEL_PATH", "models/diabetes-rf.skops"))
model = sio.load(MODEL, trusted=["sklearn.tree._tree.Tree"])


class PatientData(BaseModel):
    age: float
    sex: float
    bmi: float
    bp: float
    s1: float
    s2: float
    s3: float
    s4: float
    s5: float
    s6: float


class PredictionResponse(BaseModel):
    prediction: float


app = FastAPI(title="Diabetes Progression Predictor")


def get_prediction(data: PatientData) -> float:
    features = np.array([[data.age, data.sex, data.bmi, data.bp, data.s1,
                          data.s2, data.s3, data.s4, data.s5, data.s6]])  # fmt: skip
    return float(model.predict(features)[0])


@app.post("/predict", response_model=PredictionResponse)
def predict(data: PatientData):
    return {"prediction": get_prediction(data)}


@app.get("/health")
def health_check():
    return {"status": "healthy"}
