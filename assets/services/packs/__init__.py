"""Reproduction packs: one archive with a version's whole chain, and its import on another install.

The pack holds the lineage rows (derivations with parameters and environment fingerprints, used and
generated edges, prompts, references, model names and sha256s) and the bytes of every image and
side file; model weights only when asked. After an import, `reproduce` works on the new install.
"""

from assets.services.packs.exporting import pack_export
from assets.services.packs.importing import pack_import

__all__ = ["pack_export", "pack_import"]
