import os

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()

# gunicorn runs no management command, so nothing else would run the start-up check of the SEED_* settings here:
# a web process with a value it cannot use refuses to start, naming it, instead of serving on the default.
_refused = [message for message in checks.run_checks(tags=["seed"]) if message.is_serious()]
if _refused:
    raise ImproperlyConfigured("the settings are not usable:\n" + "\n".join(map(str, _refused)))
