"""Sign-off: the approval that counts for a version, and what a delivered file may say of it."""

from __future__ import annotations

from assets.access import client_users_among
from assets.models import Version
from review.models import Approval
from review.selectors.verdicts import APPROVING, current_decisions


def version_final_approval(*, version: Version) -> Approval | None:
    """The one approved state: a final (client-stage) approval of the version's current bytes."""
    return Approval.objects.filter(version=version, final=True, sha256=version.blob_id).first()


def approval_attestation(*, approval: Approval) -> dict:
    """What a delivered file may say of its sign-off: the client, the round and its stage, the approving roles and
    organisations (never a person's name or e-mail), the time, and the sha256 of the approved master."""
    from django.conf import settings

    review_round = approval.review_round
    client = review_round.brief.campaign.client
    approving = [
        decision
        for decision in current_decisions(review_round=review_round)
        if decision.version_id == approval.version_id and decision.verdict in APPROVING and not decision.internal
    ]
    clients = client_users_among(users={d.reviewer for d in approving if d.reviewer is not None})
    approvers = []
    for decision in approving:
        if decision.share_link_id is not None:
            approver = {"role": "client reviewer (share link)", "organisation": client.name}
        elif decision.reviewer_id in clients:
            approver = {"role": "client reviewer", "organisation": client.name}
        else:
            approver = {"role": "studio reviewer", "organisation": settings.SEED_STUDIO_NAME}
        if approver not in approvers:
            approvers.append(approver)
    return {
        "client": client.name,
        "brief": review_round.brief.title,
        "round": review_round.number,
        "stage": review_round.stage,
        "rule": review_round.rule,
        "approved_by": approvers,
        "approved_at": approval.created_at.isoformat(),
        "master_sha256": approval.sha256,
        "version_id": approval.version_id,
    }


def approval_statement(attestation: dict) -> str:
    """The attestation in a sentence:
    "approved by Client X (client reviewer) in round 3 (client stage) on 2026-11-20"."""
    who = ", ".join(
        dict.fromkeys(f"{a['organisation']} ({a['role']})" for a in attestation.get("approved_by", []))
    ) or attestation.get("client", "?")
    return (
        f"approved by {who} in round {attestation.get('round')} ({attestation.get('stage')} stage) on "
        f"{str(attestation.get('approved_at', ''))[:10]}"
    )
