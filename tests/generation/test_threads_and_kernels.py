"""The same recipe on hosts with other core counts and other CPU kernels (issue 28 §3).

torch's thread count and the vector kernels it runs (ATEN_CPU_CAPABILITY, and oneDNN's own ISA cap) change the
bytes of a generation. The worker pins the thread count to one fixed setting, so a host's core count never reaches
the bytes; the kernels cannot be pinned above what a CPU has, so the fingerprint records them and `reproduce`
names them when they differ.
"""

import pytest
import torch

from generation.reproduce import version_reproduce
from generation.requests import GenerationRequest
from generation.services.jobs import generation_job_create
from tests.factories import make_brief
from tests.generation.conftest import FAST
from tests.generation.test_reproduce import _reproduce_in_a_process

# Large enough that one thread more or fewer, or other kernels, move some pixels by a level on the CPUs we checked.
RECIPE = {**FAST, "steps": 8, "width": 128, "height": 128, "seed": 4242, "batch_size": 1}


def _generate(tiny, run_jobs, brief=None):
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief or make_brief(),
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a lemon soda can on a tin roof",
                params=RECIPE,
            ),
        )
    return job.batches.get().derivation.generated.get().version


@pytest.fixture
def host_threads():
    """Give the process back the thread count it had: the test plays hosts with other core counts."""
    own = torch.get_num_threads()
    yield
    torch.set_num_threads(own)


@pytest.mark.django_db
def test_hosts_with_other_core_counts_make_the_same_bytes(tiny, run_jobs, settings, host_threads):
    settings.SEED_TORCH_THREADS = 2
    brief, made = make_brief(), []
    for cores in (1, 3):
        torch.set_num_threads(cores)
        made.append(_generate(tiny, run_jobs, brief))
        assert torch.get_num_threads() == cores, "the worker left its pinned count on the process"
    assert [version.generated_by.derivation.environment["threads"] for version in made] == [2, 2]
    assert made[0].blob_id == made[1].blob_id
    # The pin is what keeps them equal: on another count the same recipe re-runs to other bytes, and says why.
    other = version_reproduce(version=made[0], threads=1)
    assert other.fingerprint_diff == [{"field": "threads", "recorded": 2, "current": 1}]
    assert other.verdict == "perceptual_match", other.as_dict()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("environ", "named"),
    [
        # Another core count, and the capability this CPU picks anyway asked for by name: nothing differs.
        ({"OMP_NUM_THREADS": "3"}, []),
        # Portable kernels instead of this CPU's vector ones.
        ({"ATEN_CPU_CAPABILITY": "default"}, ["cpu_capability"]),
        # oneDNN capped below what this CPU has; ATEN_CPU_CAPABILITY does not reach oneDNN.
        ({"ONEDNN_MAX_CPU_ISA": "sse41"}, ["onednn_max_cpu_isa"]),
    ],
    ids=["cores", "aten-capability", "onednn-isa"],
)
def test_a_host_with_other_kernels_is_named_by_reproduce(tiny, run_jobs, media_root, environ, named):
    version = _generate(tiny, run_jobs)
    recorded = version.generated_by.derivation.environment
    if not named:
        environ = {**environ, "ATEN_CPU_CAPABILITY": recorded["cpu_capability"].lower()}
    report = _reproduce_in_a_process(version, media_root, **environ)
    assert [item["field"] for item in report["fingerprint_diff"]] == named, report
    if named:
        assert report["verdict"] == "perceptual_match" and report["distance"] <= 4, report
    else:
        assert report["verdict"] == "bit_identical" and report["reproduced_sha256"] == version.blob_id, report
