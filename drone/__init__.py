"""Drone missions and loudspeaker commands for contactless enforcement.

``model`` plain data; ``plan`` routing and mission planning (EPSG:4549, pure); ``rules`` the
checks every plan passes before it is stored or exported; ``export`` QGroundControl .plan,
QGC WPL 110 and DJI WPML .kmz; ``speaker`` templates and espeak-ng TTS; ``broadcast`` live
broadcasts, command queue and the append-only audit; ``missions`` the database side;
``simulate`` a simulated drone; ``fleet`` stations, airframes, pilots; ``context`` airspace,
crowds, applications and fleet loaded for planning.
"""
