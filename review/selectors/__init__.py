from .approvals import approval_attestation, approval_statement, version_final_approval
from .invitees import STUDIO_VIEW, Invitee, invitees_by_round, round_invitees, rounds_waiting_on, waiting_on_text
from .notes import fixes_awaiting_review, note_state, notes_open_on, open_notes_by_version, round_notes
from .rounds import brief_cycle_stats, review_policy_of, rounds_visible_to
from .verdicts import (
    APPROVING,
    RESULT_LABELS,
    SEVERITY,
    UNDECIDED,
    Tally,
    current_decisions,
    result_label,
    rollup,
    round_results,
    round_tally,
)
from .versions import maybe_later_pool, previous_counterparts, recipe_diff, version_recipe

__all__ = [
    "approval_attestation",
    "approval_statement",
    "version_final_approval",
    "STUDIO_VIEW",
    "Invitee",
    "invitees_by_round",
    "round_invitees",
    "rounds_waiting_on",
    "waiting_on_text",
    "fixes_awaiting_review",
    "note_state",
    "notes_open_on",
    "open_notes_by_version",
    "round_notes",
    "brief_cycle_stats",
    "review_policy_of",
    "rounds_visible_to",
    "APPROVING",
    "RESULT_LABELS",
    "SEVERITY",
    "UNDECIDED",
    "Tally",
    "current_decisions",
    "result_label",
    "rollup",
    "round_results",
    "round_tally",
    "maybe_later_pool",
    "previous_counterparts",
    "recipe_diff",
    "version_recipe",
]
