"""An approved master made the real way: a tiny generation, a palette snap, an internal and a client round."""

import pytest

from assets.models import Version
from generation.requests import GenerationRequest, LoraSpec
from generation.services.jobs import generation_job_create
from review.models import Decision, ReviewRound
from review.roles import CLIENT_REVIEWER, PRODUCER, roles_ensure
from review.selectors import version_final_approval
from review.services.rounds import decision_record, round_open
from tests.factories import make_brief, member
from tests.generation.conftest import FAST


def approve(version: Version, *, producer, client_user) -> None:
    review_round = round_open(
        brief=version.brief,
        versions=[version],
        stage=ReviewRound.Stage.CLIENT,
        opened_by=producer,
        reviewers=[client_user],
    )
    decision_record(review_round=review_round, version=version, verdict=Decision.Verdict.APPROVE, reviewer=client_user)
    assert version_final_approval(version=version) is not None


@pytest.fixture
def people(db):
    roles_ensure()
    brief = make_brief(
        client_name="Aurora Soda Co.", title="Citrus Wave launch", palette=["#FE2C54", "#00E0FF", "#FFD500"]
    )
    return {
        "brief": brief,
        "producer": member("paula", PRODUCER),
        "client": member("cleo", CLIENT_REVIEWER, brief.campaign.client),
    }


@pytest.fixture
def generated(people, tiny, run_jobs):
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=people["brief"],
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can on a roof",
                loras=[LoraSpec(weights=tiny["lora_a"], weight=0.8)],
                params={**FAST, "seed": 42, "batch_size": 1},
            ),
            created_by=people["producer"],
        )
    return job.batches.get().derivation.generated.get().version


@pytest.fixture
def master(people, generated):
    approve(generated, producer=people["producer"], client_user=people["client"])
    return generated
