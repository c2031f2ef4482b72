"""Ancestry of the deepest version: the recursive-CTE selector vs a breadth-first walk with one query per
depth level (the fair peer: what careful ORM code does), and vs a naive per-version parent walk.

Builds a synthetic DAG through the real models (default 100k versions, one or two parents each,
shared ancestors, chains up to depth 50), then measures all three on the same data in one run.

    python -m bench.lineage [--versions 100000] [--max-depth 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from bench._django import django_on_postgres
from bench._result import result_print


def build_graph(*, versions: int, max_depth: int, seed: int = 7):
    from assets.models import Blob, Derivation, Generated, Phase, Used, Version
    from assets.services.briefs import brief_create, campaign_create, client_create

    rng = random.Random(seed)
    brief = brief_create(campaign=campaign_create(client=client_create(name="Bench"), name="Bench"), title="Bench")
    blob = Blob.objects.create(sha256="f" * 64, size=1, media_type="image/png")
    depth_of: dict[int, int] = {}
    ids: list[int] = []
    batch = 5000
    for start in range(0, versions, batch):
        count = min(batch, versions - start)
        derivations = Derivation.objects.bulk_create(
            Derivation(brief=brief, op="import", phase=Phase.PRODUCTION, state=Derivation.State.SUCCEEDED)
            for _ in range(count)
        )
        made = Version.objects.bulk_create(
            Version(brief=brief, blob=blob, width=64, height=64, format="PNG") for _ in range(count)
        )
        Generated.objects.bulk_create(
            Generated(derivation=d, version=v) for d, v in zip(derivations, made, strict=True)
        )
        used = []
        for derivation, version in zip(derivations, made, strict=True):
            parents = []
            if ids and rng.random() > 0.02:
                # Mostly recent parents make long chains; an occasional old one makes shared ancestors.
                for _ in range(1 if rng.random() < 0.6 else 2):
                    pool = len(ids)
                    index = (
                        pool - 1 - min(int(rng.expovariate(1 / 40)), pool - 1)
                        if rng.random() < 0.9
                        else rng.randrange(pool)
                    )
                    if depth_of[ids[index]] < max_depth and ids[index] not in parents:
                        parents.append(ids[index])
            depth_of[version.pk] = 1 + max((depth_of[p] for p in parents), default=0)
            ids.append(version.pk)
            used += [
                Used(derivation=derivation, role=Used.Role.PARENT, position=i, version_id=p)
                for i, p in enumerate(parents)
            ]
        Used.objects.bulk_create(used)
    deepest = max(depth_of, key=lambda pk: (depth_of[pk], pk))
    return Version.objects.get(pk=deepest), depth_of[deepest]


def naive_ancestry(version) -> set[int]:
    """What a Python loop over parents costs: a round trip per version visited."""
    from assets.models import Generated, Used

    seen: set[int] = set()
    stack = [version.pk]
    while stack:
        current = stack.pop()
        derivation_id = Generated.objects.get(version_id=current).derivation_id
        for parent in Used.objects.filter(derivation_id=derivation_id, version__isnull=False).values_list(
            "version_id", flat=True
        ):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def per_level_ancestry(version) -> tuple[set[int], int]:
    """Breadth-first: one query per depth level for the parents of the whole frontier (`parent__in`)."""
    from assets.models import Used

    seen: set[int] = set()
    frontier = {version.pk}
    queries = 0
    while frontier:
        parents = set(
            Used.objects.filter(derivation__generated__version_id__in=frontier, version__isnull=False).values_list(
                "version_id", flat=True
            )
        )
        queries += 1
        frontier = parents - seen
        seen |= frontier
    return seen, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--max-depth", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with django_on_postgres():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from assets.selectors import version_ancestry

        started = time.perf_counter()
        deepest, deepest_depth = build_graph(versions=args.versions, max_depth=args.max_depth)
        build_seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        def selector():
            return {v for v in version_ancestry(version=deepest).values_list("pk", flat=True)}

        expected = selector()
        levels, level_queries = per_level_ancestry(deepest)
        assert naive_ancestry(deepest) == expected == levels, "the walks disagree"
        with CaptureQueriesContext(connection) as queries:
            selector()
        cte = [_timed(selector) for _ in range(args.repeat)]
        level = [_timed(lambda: per_level_ancestry(deepest)) for _ in range(args.repeat)]
        walk = [_timed(lambda: naive_ancestry(deepest)) for _ in range(max(1, args.repeat // 2))]
        cte_s, level_s, walk_s = statistics.median(cte), statistics.median(level), statistics.median(walk)
        print(
            f"graph: {args.versions} versions built in {build_seconds:.1f} s; "
            f"deepest v{deepest.pk} at depth {deepest_depth}, "
            f"{len(expected)} ancestors"
        )
        print(f"{'measure':<40}{'value':>12}")
        print(f"{'selector (recursive CTE), median':<40}{cte_s * 1000:>10.2f} ms   ({len(queries)} query)")
        print(f"{'per-level walk (parent__in), median':<40}{level_s * 1000:>10.2f} ms   ({level_queries} queries)")
        print(f"{'naive per-version walk, median':<40}{walk_s * 1000:>10.2f} ms")
        print(f"{'ratio per-level / selector':<40}{level_s / cte_s:>11.1f}x   (target >= 5x, 1 query)")
        print(f"{'ratio naive / selector':<40}{walk_s / cte_s:>11.1f}x")
        result_print(
            name="lineage",
            ratio=level_s / cte_s,
            meaning="per-level walk (one query per depth) / recursive-CTE selector",
            target=">= 5x, 1 query",
            met=level_s / cte_s >= 5 and len(queries) == 1,
            details=f"{args.versions} versions, depth {deepest_depth}, selector {len(queries)} query, "
            f"per-level {level_queries} queries, naive walk {walk_s / cte_s:.0f}x",
        )


def _timed(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
