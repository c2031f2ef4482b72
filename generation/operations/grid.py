"""Comparison grid: an X/Y/Z sheet of generations that differ along chosen axes (A1111's X/Y/Z plot)."""

from assets.operations import OperationSpec, Param, operation_register

operation_register(
    OperationSpec(
        name="grid",
        label="Comparison grid sheet",
        phase="ideation",
        params=(Param("axes", list, key=True), Param("cells", int, minimum=1, key=True)),
        roles=frozenset({"parent"}),
        c2pa_action="c2pa.placed",
        digital_source_type=None,
        rerun="recorded",
    )
)
