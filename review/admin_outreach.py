"""How a round reaches people, in the admin: share links, review policies, notifications, preferences and webhooks."""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from assets.admin import ReadOnlyAdmin, VisibleAdmin
from assets.errors import ApplicationError
from review.models import (
    Notification,
    NotificationPreference,
    ReviewPolicy,
    ShareLink,
    WebhookDelivery,
    WebhookEndpoint,
)
from review.services.notifications import webhook_secret_rotate
from review.services.share_links import share_link_create, share_link_revoke


class ShareLinkAddForm(forms.ModelForm):
    class Meta:
        model = ShareLink
        fields = ["review_round", "label", "expires_at", "can_decide"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.instance, self.token = share_link_create(
                review_round=cleaned["review_round"],
                expires=cleaned["expires_at"],
                created_by=self.current_user,
                label=cleaned.get("label", ""),
                can_decide=cleaned.get("can_decide", True),
            )
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        return cleaned


@admin.register(ShareLink)
class ShareLinkAdmin(VisibleAdmin):
    list_display = ["__str__", "review_round", "expires_at", "revoked_at", "can_decide", "last_used_at"]
    list_filter = ["can_decide"]
    actions = ["revoke"]
    readonly_fields = [
        "review_round",
        "label",
        "expires_at",
        "revoked_at",
        "can_decide",
        "created_by",
        "created_at",
        "last_used_at",
    ]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ShareLinkAddForm
            form = super().get_form(request, obj, **kwargs)
            form.current_user = request.user
            return form
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_fields(self, request, obj=None):
        return ["review_round", "label", "expires_at", "can_decide"] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            url = request.build_absolute_uri(reverse("share-page", args=[form.token]))
            self.message_user(
                request,
                format_html("Share this link now — it is shown only once: <code>{}</code>", url),
                messages.WARNING,
            )

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected links", permissions=["change"])
    def revoke(self, request, queryset):
        for link in queryset.filter(revoked_at__isnull=True):
            share_link_revoke(link=link, revoked_by=request.user)


@admin.register(ReviewPolicy)
class ReviewPolicyAdmin(VisibleAdmin):
    list_display = [
        "brief",
        "template",
        "automate_stages",
        "checklist_before_approval",
        "reason_for_changes",
        "client_round_days",
    ]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The outbox: every message made, to whom, and whether it went."""

    list_display = ["created_at", "kind", "email", "subject", "state", "attempts", "finished_at", "error"]
    list_filter = ["state", "kind"]
    search_fields = ["email", "subject"]
    exclude = ["sealed_link"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return (
            queryset
            if request.user.is_superuser or request.user.has_perm("review.view_notification")
            else queryset.none()
        )


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(VisibleAdmin):
    """Producers set anyone's; everyone else sees and sets their own (also `PUT /api/me/notifications/`)."""

    list_display = ["user", "mode"]

    def _everyone(self, request) -> bool:
        return request.user.has_perm("review.change_notificationpreference")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if self._everyone(request) else queryset.filter(user=request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return self._everyone(request) or obj is None or obj.user_id == request.user.pk

    def has_add_permission(self, request):
        return self._everyone(request) or not NotificationPreference.objects.filter(user=request.user).exists()

    def has_change_permission(self, request, obj=None):
        return self._everyone(request) or obj is None or obj.user_id == request.user.pk

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not self._everyone(request):
            users = form.base_fields["user"]
            users.queryset = users.queryset.filter(pk=request.user.pk)
        return form


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(VisibleAdmin):
    """The secret is shown once, when it is issued (on adding, or by "Rotate secret"); afterwards only masked."""

    list_display = ["url", "client", "active", "consecutive_failures", "disabled_at"]
    list_filter = ["active"]
    fields = ["url", "client", "active", "secret", "consecutive_failures", "disabled_at", "created_at"]
    readonly_fields = ["secret", "consecutive_failures", "disabled_at", "created_at"]
    actions = ["switch_on", "rotate_secret"]

    @admin.display(description="secret")
    def secret(self, obj):
        return (
            "•" * 12 + " (shown once when issued; rotate it to issue a new one)"
            if obj and obj.pk
            else "issued on saving"
        )

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        secret = webhook_secret_rotate(endpoint=obj)
        self.message_user(
            request,
            format_html("Give the receiver this signing secret now — it is shown only once: <code>{}</code>", secret),
            messages.WARNING,
        )

    @admin.action(description="Switch the selected endpoints on again (failures reset)")
    def switch_on(self, request, queryset):
        count = queryset.update(active=True, consecutive_failures=0, disabled_at=None)
        self.message_user(request, f"{count} endpoint(s) on.", messages.SUCCESS)

    @admin.action(
        description="Rotate the secret of the selected endpoints (the old one stops working)", permissions=["change"]
    )
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            secret = webhook_secret_rotate(endpoint=endpoint)
            self.message_user(
                request,
                format_html("New signing secret for {} — shown only once: <code>{}</code>", endpoint.url, secret),
                messages.WARNING,
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log of webhooks: what was sent, the answer, and the retries."""

    list_display = [
        "created_at",
        "endpoint",
        "kind",
        "state",
        "attempts",
        "response_status",
        "next_attempt_at",
        "error",
    ]
    list_filter = ["state", "kind", "endpoint"]
