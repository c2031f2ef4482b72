"""django-q2 tasks: they take ids and are idempotent (the broker may deliver a task twice)."""


def run_derivation(derivation_id: int) -> str:
    from generation.runner import derivation_run

    return derivation_run(derivation_id=derivation_id)


def run_reproduction(run_id: int) -> str:
    from generation.services.reproductions import reproduction_run_execute

    return reproduction_run_execute(run_id=run_id)


def run_finishing(derivation_id: int) -> str:
    from generation.finishing import finishing_run

    return finishing_run(derivation_id=derivation_id)


def run_training(derivation_id: int) -> str:
    from generation.training_files import training_run

    return training_run(derivation_id=derivation_id)
