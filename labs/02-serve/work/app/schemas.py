"""Request and response schemas: the API contract that /docs shows."""

from pydantic import BaseModel, ConfigDict, Field


class PatientFeatures(BaseModel):
    """One patient's ten baseline measurements, scaled as in scikit-learn's diabetes data set."""

    # TODO(lab02): refuse what the model cannot use. Set model_config to
    # ConfigDict(extra="forbid", strict=True, allow_inf_nan=False), and give every
    # field a Field(..., description="...", examples=[...]) so /docs explains it.
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


class BatchRequest(BaseModel):
    """Several patients at once. The largest batch is set by MAX_BATCH_ROWS."""

    model_config = ConfigDict(extra="forbid")

    rows: list[PatientFeatures] = Field(..., min_length=1, description="patients to score")


class PredictionResponse(BaseModel):
    prediction: float = Field(..., description="predicted disease progression one year on")
    model_version: str = Field(..., description="semantic version of the model that answered")
    request_id: str = Field(..., description="id of this request, also in the X-Request-ID header")


class BatchPredictionResponse(BaseModel):
    predictions: list[float] = Field(..., description="one prediction per row, in order")
    model_version: str
    request_id: str
