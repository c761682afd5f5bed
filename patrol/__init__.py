"""Patrols (offline slice): read GPS tracks, clean them, measure mileage, simulate patrols.

readers  -- GPX / GeoJSON / CSV -> fixes DataFrame, bad rows dropped and counted by reason
clean    -- vectorised cleaning: accuracy, outliers, spikes, smoothing, stops, gaps
mileage  -- geodesic distance, times, stops and metres per grid per track
simulate -- foot patrols on the road graph with correlated phone-GPS errors, GPX writer
"""
