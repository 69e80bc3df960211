"""Lab 03 (the image): seeded mistakes, each caught by its check (tests/project)."""

from project.seeded import DELETE, WHOLE, Mistake

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
DOCKERFILE = "Dockerfile"
FINAL_CODE = (
    "# Dependencies above, code below: a code change rebuilds only these layers.\n"
    "# Root owns them (no --chown): the app user can read the code and the model but\n"
    "# never rewrite them, even through a hole in the service.\n"
    "COPY models/ ./models/\n"
    "COPY app/ ./app/\n"
)
CMD = (
    'CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", \\\n'
    '     "--timeout-graceful-shutdown", "5", "--no-access-log"]'
)

CHOWN_HINT = "drop --chown from COPY app/ and models/: the user that runs the code must not own it"

MISTAKES = [
    Mistake(3, "runs-as-root", DOCKERFILE, "USER 10001:10001\n", "", "non_root_user"),
    Mistake(3, "pip-without-require-hashes", DOCKERFILE, "pip wheel --require-hashes",
            "pip wheel", "requirements_hashed", says="without --require-hashes"),
    Mistake(3, "dependency-added-by-hand", "requirements.txt", "pandas==3.1.1 \\\n",
            "requests==2.32.5\npandas==3.1.1 \\\n", "requirements_hashed",
            says="requests==2.32.5 has no --hash",
            hint="never edit requirements.txt by hand: add the package to uv.lock (uv add), then"
            " make labs-sync exports it with its hashes"),
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
    Mistake(3, "floating-base-tag", DOCKERFILE, "ARG BASE_IMAGE=python:3.11.14-slim-bookworm",
            "ARG BASE_IMAGE=python:3.11-slim", "base_pinned", says="a floating tag",
            hint="pin the patch release too, python:3.11.14-slim-bookworm: "
            "python:3.11-slim is re-pushed with every 3.11.x"),
    Mistake(3, "remote-add-unverified", DOCKERFILE, "FROM ${BASE_IMAGE} AS runtime\n",
            "FROM ${BASE_IMAGE} AS runtime\n"
            "ADD https://github.com/krallin/tini/releases/download/v0.19.0/tini /usr/bin/tini\n",
            "requirements_hashed", says="a remote ADD, never verified",
            hint="a remote ADD takes whatever the URL serves at build time: add "
            "--checksum=sha256:<digest>, or install it from requirements.txt"),
    Mistake(3, "no-dockerignore", ".dockerignore", DELETE, "", "dockerignore"),
    Mistake(
        3,
        "shell-form-cmd",
        DOCKERFILE,
        CMD,
        "CMD uvicorn app.main:app --host 0.0.0.0 --port 8000 --timeout-graceful-shutdown 5",
        "exec_form_cmd"),
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
        "COPY models/ ./models/\n",
        "",
        "model_included",
    ),
    Mistake(3, "code-owned-by-the-app-user", DOCKERFILE, "COPY app/ ./app/\n",
            "COPY --chown=10001:10001 app/ ./app/\n", "non_root_user", says="--chown=10001",
            hint=CHOWN_HINT),
    Mistake(3, "expose-port-mismatch", DOCKERFILE, "EXPOSE 8000", "EXPOSE 8080", "port_matches"),
    Mistake(
        3,
        "en-dash-no-cache-dir",
        DOCKERFILE,
        "python -m pip wheel --require-hashes --wheel-dir",
        "python -m pip wheel \u2013no-cache-dir --require-hashes --wheel-dir",
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
]  # fmt: skip

UNSEEDED = {
    "hadolint": "a lint pass: each seeded Dockerfile mistake also runs through it",
    "graceful_shutdown": "the starter's ✗ (test_starter_fails_with_hints) on a real engine",
    "oci_labels": "the starter's ✗ (test_starter_fails_with_hints)",
    "image_config": "needs a Dockerfile whose file rules pass but whose image does not: the "
    "runs-as-root mistake shows both",
    "process_uid": "caught with non_root_user by the runs-as-root mistake, live",
    "no_compiler": "shown by single-stage-with-build-tools, which multi_stage catches first",
    "rebuild_cache": "the starter's ✗: the naive Dockerfile copies code before installing",
}
