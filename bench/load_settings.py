"""The web app as deployed, plus the plain-Django peer views the load benchmark compares it with."""

from config.settings.local import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.load_urls"
