"""Reproduction: a recorded version's chain re-run, with the verdict (identical, close, drifted) and what in the
environment differed."""

from assets.imagehash import RERUN_VERDICTS
from assets.operations import TRAINED, OperationSpec, Param, operation_register

operation_register(
    OperationSpec(
        name="reproduce",
        label="Reproduction of a recorded version",
        phase="production",
        params=(
            Param("verdict", str, choices=RERUN_VERDICTS, key=True),
            Param("distance", float, minimum=0.0, key=True),
            Param("fingerprint_diff", list),
        ),
        roles=frozenset({"reproduced"}),
        c2pa_action="c2pa.edited",
        digital_source_type=TRAINED,
        rerun="recorded",
    )
)
