"""Reference layers for Rizhao (real outlines and codes + GENERATED streets, grids,
communities, posts, POIs); see DATA_NOTE.md."""

from .build import COLLECTIONS, COLUMNS, build_all

__all__ = ["COLLECTIONS", "COLUMNS", "build_all"]
