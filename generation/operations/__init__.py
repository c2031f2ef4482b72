"""Every operation Seed records, one module each, declared into the core's registry (assets.operations).

Importing this package loads them all: a module here is an operation, so adding one is adding a module.
Names starting with an underscore hold what several operations share.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
