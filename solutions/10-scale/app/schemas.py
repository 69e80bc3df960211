"""Request and response schemas: the API contract that /docs shows."""

from pydantic import BaseModel, ConfigDict, Field, create_model

# The diabetes data set ships its features mean-centred and scaled, so real
# values are small; the bound only rejects absurd input.
_BOUND = 1.0


def _feature(description: str, example: float) -> float:
    return Field(..., description=description, examples=[example], ge=-_BOUND, le=_BOUND)


class PatientFeatures(BaseModel):
    """One patient's ten baseline measurements, scaled as in scikit-learn's diabetes data set."""

    # strict: "0.1" (a string) is refused; allow_inf_nan: NaN and Infinity are refused.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    age: float = _feature("Age in years, scaled", 0.0381)
    sex: float = _feature("Sex, scaled", 0.0507)
    bmi: float = _feature("Body mass index, scaled", 0.0617)
    bp: float = _feature("Average blood pressure, scaled", 0.0219)
    s1: float = _feature("tc: total serum cholesterol, scaled", -0.0442)
    s2: float = _feature("ldl: low-density lipoproteins, scaled", -0.0348)
    s3: float = _feature("hdl: high-density lipoproteins, scaled", -0.0434)
    s4: float = _feature("tch: total cholesterol / HDL, scaled", -0.0026)
    s5: float = _feature("ltg: log of serum triglycerides, scaled", 0.0199)
    s6: float = _feature("glu: blood sugar level, scaled", -0.0176)


class BatchRequest(BaseModel):
    """Several patients at once. The largest batch is set by MAX_BATCH_ROWS."""

    model_config = ConfigDict(extra="forbid")

    rows: list[PatientFeatures] = Field(..., min_length=1, description="patients to score")


def batch_request(max_rows: int) -> type[BatchRequest]:
    """BatchRequest bounded by this app's MAX_BATCH_ROWS, built once in create_app. The
    bound is part of the schema (maxItems in /docs), and pydantic counts the rows
    before it validates them: an oversized batch is refused for the cost of a len()."""
    return create_model(
        "BatchRequest",
        __base__=BatchRequest,
        rows=(
            list[PatientFeatures],
            Field(..., min_length=1, max_length=max_rows, description="patients to score"),
        ),
    )


class PredictionResponse(BaseModel):
    prediction: float = Field(..., description="predicted disease progression one year on")
    model_version: str = Field(..., description="semantic version of the model that answered")
    request_id: str = Field(..., description="id of this request, also in the X-Request-ID header")


class BatchPredictionResponse(BaseModel):
    predictions: list[float] = Field(..., description="one prediction per row, in order")
    model_version: str
    request_id: str
