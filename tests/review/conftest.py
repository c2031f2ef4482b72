"""The cast: Alice produces, Bob reviews internally, Dana reviews for Aurora (client A), Charlie for Borealis (client B)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from assets.models import ClientMembership
from assets.services.versions import version_import
from review.roles import CLIENT_REVIEWER, INTERNAL_REVIEWER, PRODUCER, roles_ensure
from tests.factories import image_file, make_brief


def _member(username, group, client=None):
    user = get_user_model().objects.create_user(username, password=f"{username}-pass-123", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    if client is not None:
        ClientMembership.objects.create(user=user, client=client)
    return user


@pytest.fixture
def cast(db):
    roles_ensure()  # transactional tests flush the groups that migrate made
    brief_a = make_brief(client_name="Aurora", title="Aurora hero")
    brief_b = make_brief(client_name="Borealis", title="Borealis hero")
    return {
        "alice": _member("alice", PRODUCER),
        "bob": _member("bob", INTERNAL_REVIEWER),
        "dana": _member("dana", CLIENT_REVIEWER, brief_a.campaign.client),
        "charlie": _member("charlie", CLIENT_REVIEWER, brief_b.campaign.client),
        "brief_a": brief_a,
        "brief_b": brief_b,
        "version_a": version_import(brief=brief_a, source=image_file("a_master.png", colour=(200, 10, 10)), label="A master"),
        "version_a2": version_import(brief=brief_a, source=image_file("a_alt.png", colour=(10, 200, 10)), label="A alt"),
        "version_b": version_import(brief=brief_b, source=image_file(colour=(10, 10, 200)), label="B master"),
    }


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client
