"""Hot-spot analysis of case points: aggregation units, Getis-Ord Gi*, DBSCAN clusters and
emerging hot spots. Pure domain code: GeoDataFrames in, GeoDataFrames out."""
from gis.hotspots.run import METHODS, hotspots  # noqa: E402,F401
from gis.hotspots.units import UNITS, aggregate  # noqa: E402,F401
