"""Lab 08 (the pipeline): seeded mistakes, each caught by its check (tests/project)."""

from project.seeded import WHOLE, Mistake

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

REF_HINT = "set WORKSHOP_REF to the workshop's commit SHA: a branch changes the test under you"

MISTAKES = [
    Mistake(8, "workshop-on-a-branch", WORKFLOW,
            "WORKSHOP_REF: 10980c3c2bd3ed3f2bb2c8e388abe3049d83aa9e", "WORKSHOP_REF: main",
            "e2e_runs_checker", says="at 'main', a moving branch",
            hint=REF_HINT),
    Mistake(8, "node20-action", WORKFLOW,
            "actions/upload-artifact@b7c566a772e6b6bfb58ed0dc250532a479d7789f # v6.0.0\n"
            "        with:\n          name: image",
            "actions/upload-artifact@330a01c490aca151604b8cf639adc76d48f6c5d4 # v5.0.0\n"
            "        with:\n          name: image", "actions_runtime"),
    Mistake(8, "old-kind-action-without-versions", WORKFLOW,
            "      - uses: helm/kind-action@ef37e7f390d99f746eb8b610417061a60e82a6cc # v1.14.0\n"
            "        with:\n          version: ${{ steps.pins.outputs.kind }}\n"
            "          kubectl_version: ${{ steps.pins.outputs.kubectl }}\n",
            "      - uses: helm/kind-action@a1b0e391336a6ee6713a0583f8c6240d70863de3 # v1.12.0\n"
            "        with:\n", "kind_versions"),
    Mistake(8, "workflow-concurrency-holds-deploy", WORKFLOW,
            "  group: ci-${{ github.event_name == 'pull_request' && github.ref"
            " || github.run_id }}\n  cancel-in-progress: true\n",
            "  group: ci-${{ github.ref }}\n  cancel-in-progress: true\n", "deploy_guarded",
            also=(("    concurrency:\n      group: deploy-production\n"
                   "      cancel-in-progress: false\n", ""),)),
    Mistake(8, "deploy-without-environment", WORKFLOW,
            "    environment:\n      name: production\n", "", "deploy_guarded"),
    Mistake(8, "guide-workflow-pasted", WORKFLOW, WHOLE, GUIDE_WORKFLOW, "workflow_valid", 2),
    Mistake(
        8,
        "hard-coded-token",
        WORKFLOW,
        "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
        f"GITHUB_TOKEN: {FAKE_TOKEN}",
        "no_credentials",
    ),
    Mistake(8, "pull-request-target", WORKFLOW, "  pull_request:\n", "  pull_request_target:\n",
            "pull_requests_safe", says="on: pull_request_target",
            hint="trigger on pull_request, never pull_request_target: GitHub's hardening guide"),
    Mistake(8, "push-from-pull-requests", WORKFLOW,
            "    needs: [build, e2e]\n    if: github.event_name != 'pull_request'\n",
            "    needs: [build, e2e]\n", "pull_requests_safe",
            says="step 'Push the bytes e2e tested, and name them by digest' pushes on pull"
            " requests too",
            hint="guard the push with if: github.event_name != 'pull_request': an image built"
            " from a pull request must never reach the registry"),
    Mistake(8, "pull-request-title-in-a-script", WORKFLOW,
            '      - name: Name the image after the commit\n',
            '      - name: Say what is built\n'
            '        run: echo "building ${{ github.event.pull_request.title }}"\n'
            '      - name: Name the image after the commit\n', "pull_requests_safe",
            says="${{ github.event.pull_request.title }} in the file",
            hint="pass the pull request's text through env: and quote \"$VAR\": a title written"
            " inside run: is run as code"),
    Mistake(8, "only-latest", WORKFLOW, ':${GITHUB_SHA}"', ':latest"', "image_tag_sha"),
    Mistake(8, "deploy-without-needs", WORKFLOW, "    needs: [e2e, push]\n", "", "jobs_ordered"),
    Mistake(8, "no-job-timeouts", WORKFLOW, "    timeout-minutes: 15\n", "", "jobs_bounded",
            also=(("    timeout-minutes: 20\n", ""), ("    timeout-minutes: 30\n", ""),
                  ("    timeout-minutes: 10\n", "")),
            says="no timeout-minutes"),
    Mistake(8, "checkout-keeps-its-token", WORKFLOW,
            "      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0\n"
            "        with:\n          persist-credentials: false\n",
            "      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0\n",
            "permissions_declared", says="keeps its token in .git/config",
            hint="add with: persist-credentials: false to each actions/checkout: "
            "otherwise every later step, yours or an action's, can read its token"),
    Mistake(8, "push-before-e2e", WORKFLOW,
            "    needs: [build, e2e]\n    if: github.event_name", "    needs: build\n    if:"
            " github.event_name", "push_after_e2e",
            says="an image that fails end to end still reaches the registry"),
    Mistake(8, "build-without-layer-cache", WORKFLOW,
            '            --cache-from "type=local,src=$RUNNER_TEMP/layers" \\\n'
            '            --cache-to "type=local,dest=$RUNNER_TEMP/layers-new,mode=max" \\\n', "",
            "build_cached", hint="restore a layer cache with actions/cache"),
    Mistake(8, "plain-tar-artifact", WORKFLOW,
            '          zstd -T0 -3 --rm "$RUNNER_TEMP/image.tar" -o "$RUNNER_TEMP/image.tar.zst"\n',
            "", "build_cached",
            also=(("path: ${{ runner.temp }}/image.tar.zst", "path: ${{ runner.temp }}/image.tar"),
                  ('sha256sum "$RUNNER_TEMP/image.tar.zst"', 'sha256sum "$RUNNER_TEMP/image.tar"')),
            hint="compress the image archive with zstd"),
    Mistake(8, "deploy-without-api-key-secret", WORKFLOW,
            "          kubectl -n workshop create secret generic diabetes-api-key \\\n"
            '            --from-literal=api-key="$API_KEY" --dry-run=client -o yaml'
            " | kubectl apply -f -\n", "", "deploy_secrets",
            says="creates no diabetes-api-key Secret",
            hint="create the API-key Secret from an environment secret"),
    Mistake(8, "deploy-without-pull-credentials", WORKFLOW,
            "          kubectl -n workshop patch serviceaccount default \\\n"
            "            -p '{\"imagePullSecrets\": [{\"name\": \"ghcr-pull\"}]}'\n", "",
            "deploy_secrets", says="gives the cluster no credentials to pull",
            hint="create a docker-registry Secret from a packages:read token"),
    Mistake(
        8,
        "unpinned-actions",
        WORKFLOW,
        "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0",
        "actions/checkout@v5",
        "actions_pinned",
    ),
    Mistake(
        8,
        "no-permissions",
        WORKFLOW,
        "\npermissions:\n  contents: read\n",
        "\n",
        "permissions_declared",
    ),
]  # fmt: skip

UNSEEDED = {
    "workflow_schema": "guide-workflow-pasted is refused earlier, as invalid YAML",
    "actionlint": "the starter's ✗ (test_starter_fails_with_hints)",
    "lint_and_tests_pass_here": "the starter's ✗: it runs the learner's own pytest",
}
