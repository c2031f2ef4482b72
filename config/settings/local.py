"""Development and the demo: a project-local Postgres (see config/localpg.py) unless DATABASE_URL is set."""

from .base import *  # noqa: F403
from config.env import env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
