from importlib.metadata import version

# What files and manifests name as their software: pyproject.toml's version, read once.
SEED_VERSION = version("seed")
