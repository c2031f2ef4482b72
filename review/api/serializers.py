from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assets.api.fields import VisibleModelSerializer, VisibleRelatedField
from assets.models import Version
from review.cycles import colleagues_of
from review.models import (
    ChecklistItem,
    Decision,
    Note,
    NotificationPreference,
    Pin,
    ReviewRound,
    ShareLink,
)
from review.selectors import STUDIO_VIEW, note_state, round_invitees, waiting_on_text


class PinSerializer(VisibleModelSerializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    class Meta:
        model = Pin
        fields = ["x", "y", "w", "h", "note"]
        extra_kwargs = {"w": {"required": False, "default": 0.0}, "h": {"required": False, "default": 0.0}}


class DecisionSerializer(VisibleModelSerializer):
    pins = PinSerializer(many=True, read_only=True)
    author = serializers.CharField(source="author_name", read_only=True)

    class Meta:
        model = Decision
        fields = [
            "id",
            "review_round",
            "version",
            "author",
            "verdict",
            "comment",
            "internal",
            "sha256",
            "pins",
            "created_at",
        ]


class DecisionCreateSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    verdict = serializers.ChoiceField(choices=Decision.Verdict.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    internal = serializers.BooleanField(required=False, default=False)
    pins = PinSerializer(many=True, required=False, default=list)


class InviteeSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["studio", "client", "guest"])
    decides = serializers.BooleanField()
    state = serializers.ChoiceField(choices=["invited", "viewed", "decided", "overdue"])
    invited_at = serializers.DateTimeField()
    viewed_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    waiting_seconds = serializers.FloatField(
        allow_null=True, help_text="How long the round has waited on them; null once decided"
    )


class RoundSerializer(VisibleModelSerializer):
    """A round as the requesting user may see it: a client user reads the studio's people as "Studio" and other
    guests as "Guest", and of the reviewers' ids only their own clients' people (review.cycles)."""

    versions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    reviewers = serializers.SerializerMethodField()
    invitees = serializers.SerializerMethodField()
    waiting_on = serializers.SerializerMethodField()

    class Meta:
        model = ReviewRound
        fields = [
            "id",
            "brief",
            "number",
            "stage",
            "status",
            "title",
            "previous",
            "versions",
            "reviewers",
            "rule",
            "deadline",
            "opened_at",
            "closed_at",
            "invitees",
            "waiting_on",
        ]

    def _viewer(self):
        request = self.context.get("request")
        return STUDIO_VIEW if request is None else request.user

    def _invitees(self, obj) -> list:
        if not hasattr(obj, "_invitees"):
            obj._invitees = round_invitees(review_round=obj, viewer=self._viewer())
        return obj._invitees

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_reviewers(self, obj) -> list[int]:
        ids = [reviewer.pk for reviewer in obj.reviewers.all()]
        viewer = self._viewer()
        if viewer is STUDIO_VIEW:
            return ids
        known = colleagues_of(viewer=viewer, user_ids=set(ids))
        return [pk for pk in ids if pk in known]

    @extend_schema_field(InviteeSerializer(many=True))
    def get_invitees(self, obj) -> list[dict]:
        return InviteeSerializer(self._invitees(obj), many=True).data

    def get_waiting_on(self, obj) -> str:
        return waiting_on_text(self._invitees(obj))


class RoundCreateSerializer(serializers.Serializer):
    brief = serializers.IntegerField()
    versions = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    stage = serializers.ChoiceField(choices=ReviewRound.Stage.choices)
    reviewers = VisibleRelatedField(
        queryset=get_user_model().objects.all(), many=True, required=False, default=list, help_text="Users who decide"
    )
    commenters = VisibleRelatedField(
        queryset=get_user_model().objects.all(),
        many=True,
        required=False,
        default=list,
        help_text="Users who follow and comment but do not decide",
    )
    guests = serializers.ListField(
        child=serializers.EmailField(),
        required=False,
        default=list,
        help_text="Client reviewers without an account; each gets a share link by e-mail",
    )
    rule = serializers.ChoiceField(choices=ReviewRound.Rule.choices, required=False, default=ReviewRound.Rule.ALL)
    title = serializers.CharField(required=False, allow_blank=True, default="")
    deadline = serializers.DateTimeField(required=False, allow_null=True, default=None)


class GridRoundSerializer(serializers.Serializer):
    round = serializers.IntegerField(help_text="the review round opened with the grid's cells")


class ShareLinkSerializer(VisibleModelSerializer):
    class Meta:
        model = ShareLink
        fields = ["id", "review_round", "label", "expires_at", "revoked_at", "can_decide", "created_at", "last_used_at"]


class ShareLinkCreateSerializer(serializers.Serializer):
    expires = serializers.CharField(help_text="A date (YYYY-MM-DD, valid to the end of that day) or an ISO date-time")
    label = serializers.CharField(required=False, allow_blank=True, default="")
    can_decide = serializers.BooleanField(required=False, default=True)

    def validate_expires(self, value):
        for field in (serializers.DateTimeField(), serializers.DateField()):
            try:
                return field.to_internal_value(value)
            except serializers.ValidationError:
                continue
        raise serializers.ValidationError("expected YYYY-MM-DD or an ISO date-time")


class ShareLinkCreatedSerializer(ShareLinkSerializer):
    token = serializers.CharField(read_only=True)
    url = serializers.CharField(read_only=True)

    class Meta(ShareLinkSerializer.Meta):
        fields = [*ShareLinkSerializer.Meta.fields, "token", "url"]


class RatingSerializer(serializers.Serializer):
    stars = serializers.IntegerField(min_value=0, max_value=5)


class ChecklistItemSerializer(VisibleModelSerializer):
    class Meta:
        model = ChecklistItem
        fields = ["id", "label", "position", "active"]
        read_only_fields = ["id", "position", "active"]


class TickSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    checked = serializers.BooleanField()


class TriageSerializer(serializers.Serializer):
    versions = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    triage = serializers.ChoiceField(choices=Version.Triage.choices)


class DiffRowSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField()
    after = serializers.JSONField()


class NotificationPreferenceSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=NotificationPreference.Mode.choices)


class NoteReplySerializer(VisibleModelSerializer):
    author = serializers.CharField(source="author_name", read_only=True)

    class Meta:
        model = Note
        fields = ["id", "author", "text", "markup", "created_at"]


class NoteSerializer(VisibleModelSerializer):
    author = serializers.CharField(source="author_name", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    mentions = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    replies = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField(help_text="open, fix queued, addressed, awaiting review, or resolved")

    class Meta:
        model = Note
        fields = [
            "id",
            "review_round",
            "version",
            "parent",
            "author",
            "text",
            "markup",
            "sha256",
            "internal",
            "mentions",
            "created_at",
            "resolved_at",
            "resolved_by",
            "fixed_by",
            "state",
            "replies",
        ]

    def get_state(self, obj) -> str:
        return note_state(obj)

    @extend_schema_field(NoteReplySerializer(many=True))
    def get_replies(self, obj) -> list[dict]:
        if obj.parent_id is not None:
            return []
        replies = obj.replies.all()
        if self.context.get("for_client"):
            replies = [reply for reply in replies if not reply.internal]
        return NoteReplySerializer(replies, many=True).data


class NoteCreateSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, help_text="Required for a new thread")
    text = serializers.CharField(max_length=5000)
    markup = serializers.JSONField(
        required=False,
        default=list,
        help_text="Shapes: {type: pin|rect|ellipse|arrow|freehand|text, points: [[x, y], …] in 0..1, "
        "colour: #RRGGBB, text (labels)}",
    )
    internal = serializers.BooleanField(required=False, default=False)


class NoteMaskSerializer(serializers.Serializer):
    feather = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=64,
        default=0,
        help_text="Soften the mask's edge by this many pixels (0: a hard edge)",
    )


class NoteFixSerializer(serializers.Serializer):
    prompt = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="What to paint in the region; the note's text when empty",
    )
    feather = serializers.IntegerField(required=False, min_value=0, max_value=64, allow_null=True, default=None)
