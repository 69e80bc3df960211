"""Lab 04's harness: what its checks and fixtures share."""

from checker.outcomes import Needs, expect
from checker.room import learner

# The learner's unit tests take a few seconds of CPU; this much without an end is a hang.
UNIT_TESTS_CPU_SECONDS = 120


def container(deployment):
    if deployment.error:
        raise Needs("a running Deployment")
    return deployment.deployment.spec.template.spec.containers[0]


def room_image(deployment, image: str) -> None:
    """Room mode: the Deployment names, by digest, what this learner pushed last, and
    every pod runs that digest. A digest no other learner's push can produce."""
    pushed, mine = learner.last_push("WORKSHOP_LAST_PUSH", "pushed")
    expect("@sha256:" in image, image, "your image pinned by digest (repository@sha256:…)",
           hint="make deploy N pushes your image and pins its digest",
           see=learner.SEE)  # fmt: skip
    expect(
        mine,
        f"no push of yours recorded ({pushed})",
        f"your own push of {image}",
        hint="make deploy N (it pushes to your repository, then deploys)",
        see=learner.SEE,
    )
    expect(
        image == mine,
        image,
        f"{mine}, your last push",
        hint="someone else's image, or an older deploy: make deploy N",
        see=learner.SEE,
    )
    digest = mine.rsplit("@", 1)[1]
    running = sorted({s.image_id for p in deployment.pods for s in p.status.container_statuses or []
                      if s.name == container(deployment).name})  # fmt: skip
    others = [found for found in running if found and not found.endswith(digest)]
    expect(not others, ", ".join(others), f"every pod on {digest[:19]}…",
           hint="pods of an older deploy still run: make deploy N, then wait for the rollout",
           see=learner.SEE)  # fmt: skip
