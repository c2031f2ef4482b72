import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient


@pytest.fixture
def alice(db):
    """Alice is a producer with staff access."""
    return get_user_model().objects.create_user("alice", password="alice-pass-123", is_staff=True, is_superuser=True)


@pytest.fixture
def api(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


def files_under(root) -> list[str]:
    """Every file below the media root except the scratch space, which is emptied after each upload."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "staging" not in p.parts)
