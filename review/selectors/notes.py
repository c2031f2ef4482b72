"""Note threads: those of a round, those still open on a version and its ancestors, and where each stands."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from assets.models import Brief, Version
from assets.selectors import ancestors_among, version_ancestry
from review.models import Note, ReviewRound


def _with_fix_kept(notes: QuerySet[Note]) -> QuerySet[Note]:
    """Whether an output of each note's fix was kept, in the same query (note_state reads it instead of asking)."""
    kept = Version.objects.filter(generated_by__derivation_id=OuterRef("fixed_by_id"), triage=Version.Triage.KEEP)
    return notes.annotate(fix_kept=Exists(kept))


def notes_open_on(*, version: Version, for_client: bool = False) -> QuerySet[Note]:
    """Unresolved threads on the version and on every ancestor of it: the notes that travel forward."""
    lineage = version_ancestry(version=version).values("pk")
    notes = (
        Note.objects.filter(parent__isnull=True, resolved_at__isnull=True)
        .filter(Q(version=version) | Q(version__in=lineage))
        .select_related("author", "review_round")
        .prefetch_related("replies")
    )
    return _with_fix_kept(notes.filter(internal=False) if for_client else notes)


def round_notes(*, review_round: ReviewRound, for_client: bool = False) -> list[Note]:
    """Every thread of the round, replies prefetched, oldest first."""
    replies = Note.objects.select_related("author").order_by("id")
    if for_client:
        replies = replies.filter(internal=False)
    notes = (
        Note.objects.filter(review_round=review_round, parent__isnull=True)
        .select_related("author", "resolved_by")
        .prefetch_related(Prefetch("replies", queryset=replies), "mentions")
        .order_by("id")
    )
    return list(_with_fix_kept(notes.filter(internal=False) if for_client else notes))


def note_state(note: Note) -> str:
    """open → fix queued → addressed, awaiting review (an output of its fix was kept) → resolved."""
    if note.resolved_at is not None:
        return "resolved"
    if note.fixed_by_id is None:
        return "open"
    kept = getattr(note, "fix_kept", None)
    if kept is None:
        kept = Version.objects.filter(generated_by__derivation_id=note.fixed_by_id, triage=Version.Triage.KEEP).exists()
    return "addressed, awaiting review" if kept else "fix queued"


def open_notes_by_version(*, review_round: ReviewRound, for_client: bool = False) -> dict[int, list[Note]]:
    """For each version of the round, the unresolved threads on it and on its ancestors (the notes that travel
    forward), oldest first: three queries for the whole round."""
    version_ids = list(review_round.items.values_list("version_id", flat=True))
    notes = Note.objects.filter(version__brief_id=review_round.brief_id, parent__isnull=True, resolved_at__isnull=True)
    if for_client:
        notes = notes.filter(internal=False)
    by_version = defaultdict(list)
    for note in _with_fix_kept(notes.select_related("author").order_by("id")):
        by_version[note.version_id].append(note)
    ancestors = ancestors_among(versions=version_ids, candidates=list(by_version))
    return {
        version_id: sorted(
            [
                *by_version.get(version_id, []),
                *(note for ancestor in ancestors.get(version_id, []) for note in by_version[ancestor]),
            ],
            key=lambda note: note.pk,
        )
        for version_id in version_ids
    }


def fixes_awaiting_review(*, brief: Brief) -> QuerySet[Version]:
    """Kept outputs of "fix this region" jobs for the brief's open notes, not yet put before reviewers."""
    fixes = Note.objects.filter(version__brief=brief, resolved_at__isnull=True, fixed_by__isnull=False).values(
        "fixed_by"
    )
    return Version.objects.filter(
        brief=brief, triage=Version.Triage.KEEP, generated_by__derivation__in=fixes, round_items__isnull=True
    ).order_by("pk")
