"""The seeded-mistake catalogue: realistic learner mistakes, each applied to a copy
of a solution, must be caught by the check meant for it, with that check's hint."""

from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from checker.manifest import find
from project.conftest import copy_tree, run_checker

pytestmark = pytest.mark.full


@dataclass(frozen=True)
class Mistake:
    lab: int
    id: str
    file: str
    old: str
    new: str
    caught_by: str
    exit_code: int = 1
    also: tuple[tuple[str, str], ...] = ()  # further (old, new) edits in the same file

    def apply(self, tree: Path) -> None:
        for old, new in ((self.old, self.new), *self.also):
            self._replace(tree, old, new)

    def _replace(self, tree: Path, old: str, new: str) -> None:
        path = tree / self.file
        if old == DELETE:
            path.unlink()
            return
        if old == WHOLE:
            path.write_text(new, encoding="utf-8")
            return
        if path.suffix == ".ipynb":
            notebook = nbformat.read(path, as_version=4)
            hits = [c for c in notebook.cells if old in c.source]
            assert hits, f"{self.id}: '{old}' is not in {self.file}; update the catalogue"
            for cell in hits:
                cell.source = cell.source.replace(old, new)
            nbformat.write(notebook, path)
            return
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{self.id}: '{old}' is not in {self.file}; update the catalogue"
        path.write_text(text.replace(old, new), encoding="utf-8")


DELETE = "<delete the file>"
WHOLE = "<replace the whole file>"
# A realistic first attempt: everything in one stage, compilers left in.
SINGLE_STAGE = """FROM python:3.11.14-slim-bookworm
LABEL org.opencontainers.image.source="https://example.org/diabetes-api" \\
      org.opencontainers.image.revision="unknown" \\
      org.opencontainers.image.version="1.0.0"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gcc \\
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid 10001 app
WORKDIR /app
COPY requirements.txt .
RUN --mount=type=secret,id=ca-bundle \\
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi; \\
    pip install --no-cache-dir -r requirements.txt
COPY models/ ./models/
COPY app/ ./app/
USER 10001:10001
EXPOSE 8000
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", \\
     "--timeout-graceful-shutdown", "5"]
"""
NB = "train.ipynb"
WORKFLOW = ".github/workflows/ci.yml"
# The source guide's style of workflow, pasted as is: steps that are not list
# items, their keys indented under the name. Not even valid YAML.
GUIDE_WORKFLOW = """name: Deploy the service

on:
  push:
    branches:
      main

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      name: Get the code
        uses: actions/checkout@v3

      name: Build the image
        run: docker build -t diabetes:${{ github.sha }} .
"""
# A token with GitHub's classic shape, assembled here so that no scanner sees one.
FAKE_TOKEN = "ghp_" + "Wk3x" * 9
DOCKERFILE = "Dockerfile"
FINAL_CODE = (
    "# Dependencies above, code below: a code change rebuilds only these layers.\n"
    "COPY --chown=10001:10001 models/ ./models/\n"
    "COPY --chown=10001:10001 app/ ./app/\n"
)
CMD = (
    'CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", \\\n'
    '     "--timeout-graceful-shutdown", "5", "--no-access-log"]'
)
MAIN, SCHEMAS = "app/main.py", "app/schemas.py"

CATALOGUE = [
    # -- lab 01: the notebook ---------------------------------------------------------
    Mistake(
        1,
        "smart-quotes-in-notebook",
        NB,
        'MODEL_DIR = Path("models")',
        "MODEL_DIR = Path(\u201cmodels\u201d)",
        "notebook_runs",
    ),
    Mistake(
        1,
        "pickle-instead-of-skops",
        NB,
        "sio.dump(forest, artifact)",
        "import pickle\nartifact.write_bytes(pickle.dumps(forest))",
        "safe_load",
    ),
    Mistake(
        1,
        "trained-on-all-rows",
        NB,
        "forest.fit(X_train, y_train)",
        "forest.fit(X, y)",
        "training_split",
    ),
    Mistake(
        1,
        "features-sorted-in-card",
        NB,
        '"feature_names": list(X.columns)',
        '"feature_names": sorted(X.columns)',
        "feature_order",
    ),
    Mistake(
        1,
        "hash-of-nothing",
        NB,
        '"artifact_sha256": sha256_of(artifact)',
        '"artifact_sha256": hashlib.sha256(b"").hexdigest()',
        "artifact_hash",
    ),
    Mistake(
        1,
        "card-without-training-hash",
        NB,
        '"training_data_sha256": hashlib.sha256(training_bytes).hexdigest(),',
        "",
        "card_fields",
    ),
    Mistake(
        1,
        "a-stump-not-a-forest",
        NB,
        "n_estimators=100, min_samples_leaf=5",
        "n_estimators=1, max_depth=1",
        "beats_baseline",
    ),
    # -- lab 02: the service (the source guide's mistakes first) ------------------------
    Mistake(
        2,
        "smart-quotes-in-code",
        MAIN,
        'log = logging.getLogger("app")',
        "log = logging.getLogger(\u2018app\u2019)",
        "code_compiles",
        exit_code=2,
    ),
    Mistake(
        2,
        "prediction-as-ndarray",
        MAIN,
        "[value] = model.predict([features.model_dump()])",
        "import pandas as pd\n        value = model.estimator.predict("
        "pd.DataFrame([features.model_dump()]))",
        "predict_float",
    ),
    Mistake(
        2,
        "readiness-checks-nothing",
        MAIN,
        "if request.app.state.model is None:",
        "if False:",
        "readiness_semantics",
    ),
    Mistake(
        2,
        "model-loaded-per-request",
        MAIN,
        "        [value] = model.predict([features.model_dump()])",
        "        settings = request.app.state.settings\n"
        "        model = load_model(settings.model_path, settings.model_card_path)\n"
        "        [value] = model.predict([features.model_dump()])",
        "model_loaded_once",
    ),
    Mistake(
        2,
        "extra-fields-allowed",
        SCHEMAS,
        'extra="forbid", strict=True',
        'extra="ignore", strict=True',
        "bad_payloads",
    ),
    # As in the source guide: plain floats with no bounds, and NaN allowed.
    Mistake(
        2,
        "nan-allowed",
        SCHEMAS,
        "allow_inf_nan=False",
        "allow_inf_nan=True",
        "bad_payloads",
        also=((", ge=-_BOUND, le=_BOUND)", ")"),),
    ),
    Mistake(2, "numeric-strings-coerced", SCHEMAS, "strict=True, ", "", "bad_payloads"),
    Mistake(
        2,
        "default-422-handler-echoes-nan",
        MAIN,
        "    @app.exception_handler(RequestValidationError)",
        "    @app.exception_handler(KeyError)",
        "bad_payloads",
    ),
    Mistake(
        2,
        "no-body-limit",
        MAIN,
        "    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)\n",
        "",
        "body_size_limit",
    ),
    Mistake(2, "batch-bound-hard-coded", MAIN, "> settings.max_batch_rows:", "> 256:", "batch"),
    Mistake(
        2,
        "crashes-without-model",
        MAIN,
        "    except ModelLoadError as exc:",
        "    except KeyError as exc:",
        "readiness_semantics",
    ),
    Mistake(
        2,
        "fields-undocumented",
        SCHEMAS,
        "Field(..., description=description, examples=[example], ge=-_BOUND, le=_BOUND)",
        "Field(..., ge=-_BOUND, le=_BOUND)",
        "openapi_documents_fields",
    ),
    Mistake(
        2, "plain-text-logs", MAIN, "    configure_logging(settings.log_level)\n", "", "json_logs"
    ),
    Mistake(
        2,
        "paths-hard-coded",
        MAIN,
        "load_model(settings.model_path, settings.model_card_path)",
        'load_model(Path("models/diabetes-rf.skops"), Path("models/model-card.json"))',
        "settings_from_env",
        also=(("import logging\n", "import logging\nfrom pathlib import Path\n"),),
    ),
    Mistake(2, "own-test-broken", "tests/test_main.py", '== "1.0.0"', '== "2.0.0"', "unit_tests"),
]


CATALOGUE += [
    # -- lab 03: the image ----------------------------------------------------------
    Mistake(3, "runs-as-root", DOCKERFILE, "USER 10001:10001\n", "", "non_root_user"),
    Mistake(3, "single-stage-with-build-tools", DOCKERFILE, WHOLE, SINGLE_STAGE, "multi_stage"),
    Mistake(
        3,
        "copy-code-before-install",
        DOCKERFILE,
        FINAL_CODE,
        "",
        "layer_order",
        also=(
            (
                "# The wheels are mounted from the builder",
                "COPY . /app/\n# The wheels are mounted from the builder",
            ),
        ),
    ),
    Mistake(
        3,
        "secret-in-env",
        DOCKERFILE,
        "ENV PYTHONDONTWRITEBYTECODE=1",
        "ENV API_KEY=sk-live-4f9a2c PYTHONDONTWRITEBYTECODE=1",
        "no_secrets",
    ),
    Mistake(
        3,
        "latest-base",
        DOCKERFILE,
        "ARG BASE_IMAGE=python:3.11.14-slim-bookworm",
        "ARG BASE_IMAGE=python:latest",
        "base_pinned",
    ),
    Mistake(3, "no-dockerignore", ".dockerignore", DELETE, "", "dockerignore"),
    Mistake(
        3,
        "shell-form-cmd",
        DOCKERFILE,
        CMD,
        "CMD uvicorn app.main:app --host 0.0.0.0 --port 8000 --timeout-graceful-shutdown 5",
        "exec_form_cmd",
    ),
    Mistake(
        3,
        "slow-stop-of-shell-form",
        DOCKERFILE,
        CMD,
        'CMD ["sh", "-c", "uvicorn app.main:app --host 0.0.0.0 --port 8000 '
        '--timeout-graceful-shutdown 5"]',
        "stop_time",
    ),
    Mistake(
        3,
        "writes-outside-tmp",
        "app/logging_setup.py",
        "    handler = logging.StreamHandler(sys.stdout)\n",
        '    handler = logging.FileHandler("service.log")\n',
        "container_serves",
    ),
    Mistake(
        3,
        "model-missing-from-image",
        DOCKERFILE,
        "COPY --chown=10001:10001 models/ ./models/\n",
        "",
        "model_included",
    ),
    Mistake(3, "expose-port-mismatch", DOCKERFILE, "EXPOSE 8000", "EXPOSE 8080", "port_matches"),
    # The source guide's snippets, pasted as they are.
    Mistake(
        3,
        "en-dash-no-cache-dir",
        DOCKERFILE,
        "python -m pip wheel --wheel-dir",
        "python -m pip wheel \u2013no-cache-dir --wheel-dir",
        "no_smart_characters",
    ),
    Mistake(
        3,
        "copy-without-destination",
        DOCKERFILE,
        "COPY requirements.txt .",
        "COPY requirements.txt.",
        "image_builds",
    ),
    # Lab 08: the workflow.
    Mistake(8, "guide-workflow-pasted", WORKFLOW, WHOLE, GUIDE_WORKFLOW, "workflow_valid", 2),
    Mistake(
        8,
        "hard-coded-token",
        WORKFLOW,
        "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
        f"GITHUB_TOKEN: {FAKE_TOKEN}",
        "no_credentials",
    ),
    Mistake(8, "only-latest", WORKFLOW, ':${GITHUB_SHA}"', ':latest"', "image_tag_sha"),
    Mistake(8, "deploy-without-needs", WORKFLOW, "    needs: [build, e2e]\n", "", "jobs_ordered"),
    Mistake(
        8,
        "unpinned-actions",
        WORKFLOW,
        "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0",
        "actions/checkout@v5",
        "actions_pinned",
    ),
    # Lab 09 (bonus): measured side by side with the guide's design.
    Mistake(
        9,
        "features-out-of-order",
        "app/model.py",
        "[[row[name] for name in names] for row in rows]",
        "[[row[name] for name in reversed(names)] for row in rows]",
        "predictions_equal",
    ),
    Mistake(
        9,
        "half-precision",
        "app/model.py",
        "dtype=np.float32)",
        "dtype=np.float16)",
        "predictions_equal",
    ),
    Mistake(
        9,
        "scikit-learn-still-serves",
        "app/model.py",
        "return self.compiled.predict(matrix).tolist()",
        "return [float(v) for v in self.estimator.predict(matrix)]",
        "throughput",
    ),
    Mistake(
        8,
        "no-permissions",
        WORKFLOW,
        "\npermissions:\n  contents: read\n",
        "\n",
        "permissions_declared",
    ),
]


@pytest.mark.parametrize("mistake", CATALOGUE, ids=lambda m: f"lab{m.lab:02d}-{m.id}")
def test_mistake_is_caught_by_its_check(mistake, tmp_path):
    lab = find(mistake.lab)
    tree = copy_tree(lab, lab.solution_path, tmp_path)
    mistake.apply(tree)
    run = run_checker(lab, tree, tmp_path)
    assert "Traceback" not in run.output, run.output
    assert run.code == mistake.exit_code, run.output
    assert run.status(mistake.caught_by) == "failed", (
        f"{mistake.id} should fail '{mistake.caught_by}'; failed: {run.failed()}\n{run.output}"
    )
    hint = lab.checks[mistake.caught_by].hint
    assert f"hint: {hint}" in run.output
