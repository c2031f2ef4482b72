"""Parameters that keep tiny generations fast; the tiny-model fixtures live in tests/conftest.py."""

FAST = {"steps": 4, "cfg": 7.0, "width": 64, "height": 64, "sampler": "dpmpp_2m_karras"}
