from __future__ import annotations

from assets.models import DEFAULT_NEGATIVE_PROMPT, Brief, Campaign, Client, Reference
from assets.services.blobs import image_ingest
from assets.services.validation import instance_validate


def client_create(*, name: str) -> Client:
    client = Client(name=name.strip())
    instance_validate(instance=client)
    client.save()
    return client


def campaign_create(*, client: Client, name: str) -> Campaign:
    campaign = Campaign(client=client, name=name.strip())
    instance_validate(instance=campaign)
    campaign.save()
    return campaign


def brief_create(
    *,
    campaign: Campaign,
    title: str,
    palette: list[str] = (),
    aspect: str = "1:1",
    channels: list[str] = (),
    content_type: str = Brief.ContentType.CAMPAIGN,
    negative_prompt: str = DEFAULT_NEGATIVE_PROMPT,
    required_copy: list[str] = (),
    notes: str = "",
    commercial_use: bool = True,
    ai_training: str = Brief.AiUse.NOT_ALLOWED,
    created_by=None,
) -> Brief:
    brief = Brief(
        commercial_use=commercial_use,
        ai_training=ai_training,
        campaign=campaign,
        title=title.strip(),
        palette=[colour.strip().upper() for colour in palette],
        aspect=aspect.strip(),
        channels=list(dict.fromkeys(channels)),
        content_type=content_type,
        negative_prompt=negative_prompt,
        required_copy=[text.strip() for text in required_copy],
        notes=notes,
        created_by=created_by,
    )
    instance_validate(instance=brief)
    brief.save()
    return brief


def reference_create(*, brief: Brief, source, title: str = "", notes: str = "", created_by=None) -> Reference:
    """Add a mood-board image; adding the same bytes to the same brief again returns the existing one."""
    with image_ingest(source=source) as (blob, info):
        existing = Reference.objects.filter(brief=brief, blob=blob).first()
        if existing is not None:
            return existing
        reference = Reference(
            brief=brief,
            blob=blob,
            title=title.strip(),
            notes=notes,
            width=info.width,
            height=info.height,
            format=info.format,
            created_by=created_by,
        )
        instance_validate(instance=reference, exclude=["blob"])
        reference.save()
    return reference
