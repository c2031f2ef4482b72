"""Development and the demo: a project-local Postgres (see config/localpg.py) unless DATABASE_URL is set."""

from config.env import env_bool

from .base import *  # noqa: F403

DEBUG = env_bool("DJANGO_DEBUG", True)
