"""The commanders' map page: a light folium (Leaflet) shell whose layers load at run time
from the collections endpoints. Every script and stylesheet is served by citygrid itself,
so the page works on an isolated government network with no basemap reachable."""
from __future__ import annotations

import folium
from branca.element import Element

RIZHAO_CENTRE = (35.42, 119.50)
LEAFLET_JS = [("leaflet", "/static/vendor/leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", "/static/vendor/leaflet/leaflet.css")]

# (collection, label, style) loaded into the map by the page's own script.
LAYERS = [
    ("districts", "Districts 区县", {"color": "#444", "weight": 2, "fill": False}),
    ("subdistricts", "Subdistricts 街道/乡镇", {"color": "#888", "weight": 1, "dashArray": "4", "fill": False}),
    ("grids", "Grids 网格", {"color": "#1f6feb", "weight": 1.5, "fillOpacity": 0.08}),
    ("communities", "Communities 社区", {"color": "#2da44e", "weight": 0.8, "fillOpacity": 0.0}),
    ("roads", "Streets 道路", {"color": "#999", "weight": 1}),
    ("posts", "Service posts 服务岗", {"radius": 5, "color": "#d1242f", "fillOpacity": 0.9}),
    ("airspace", "No-fly / controlled 空域", {"color": "#cf222e", "weight": 1, "fillOpacity": 0.1, "dashArray": "6"}),
]

SCRIPT = """
<script>
(function() {{
  var map = {map};
  window.citygridMap = map;
  var control = L.control.layers(null, {{}}, {{collapsed: false}}).addTo(map);
  var layers = {layers};
  window.citygridLayers = {{}};
  layers.forEach(function(spec) {{
    var id = spec[0], label = spec[1], style = spec[2];
    var layer = L.geoJSON(null, {{
      style: function() {{ return style; }},
      pointToLayer: function(f, latlng) {{ return L.circleMarker(latlng, style); }},
      onEachFeature: function(f, l) {{
        var p = f.properties || {{}};
        l.bindPopup('<b>' + (p.name || f.id) + '</b><br>' + Object.keys(p).map(function(k) {{
          return k + ': ' + p[k]; }}).join('<br>'));
      }}
    }});
    window.citygridLayers[id] = layer;
    control.addOverlay(layer, label);
    if (id !== 'roads' && id !== 'communities') layer.addTo(map);
    fetch('/collections/' + id + '/items?limit=10000').then(function(r) {{ return r.json(); }})
      .then(function(fc) {{ layer.addData(fc); }});
  }});
}})();
</script>
"""


def render_portal() -> str:
    m = folium.Map(location=RIZHAO_CENTRE, zoom_start=11, tiles=None, control_scale=True)
    m.default_js = LEAFLET_JS
    m.default_css = LEAFLET_CSS
    html = m.get_root().render()
    script = SCRIPT.format(map=m.get_name(), layers=__import__("json").dumps(LAYERS))
    return html.replace("</html>", script + "</html>")
