"""Small pieces of HTML the admins show: a blob's thumbnail and a palette's swatches."""

from django.urls import reverse
from django.utils.html import format_html, format_html_join


def thumbnail(blob_id: str, size: int = 96, display: int = 64) -> str:
    return format_html(
        '<img src="{}" alt="" style="max-width:{}px;max-height:{}px;border-radius:4px;background:#eee">',
        reverse("blob-thumbnail", args=[blob_id, size]),
        display,
        display,
    )


def swatches(colours: list[str]) -> str:
    return format_html_join(
        "",
        '<span title="{0}" style="display:inline-block;width:18px;height:18px;margin-right:3px;'
        'border:1px solid #999;border-radius:3px;background:{0}"></span>',
        ((colour,) for colour in colours),
    )
