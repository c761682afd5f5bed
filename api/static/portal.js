/* citygrid commanders' map portal. Everything comes from this server: layers from the OGC API
 * items and vector tiles, per-grid counts from /api/portal/grid-stats. No external request is
 * made unless a basemap is chosen. Exposes window.citygridMap, window.citygridLayers and
 * window.citygridPortal for tests and for the browser console. */
(function () {
  'use strict';
  var cfg = window.CITYGRID_CONFIG;
  var map = window[cfg.map];
  window.citygridMap = map;
  // Explicit zoom bounds: otherwise Leaflet adopts the case tiles' minZoom (13) as the map's.
  if (map.options.minZoom === undefined) map.options.minZoom = 5;
  if (map.options.maxZoom === undefined) map.options.maxZoom = 19;
  var layers = {};
  window.citygridLayers = layers;
  var state = {period: 'all', datetime: null, coordSys: 'wgs84', metric: 'open_cases', loaded: {},
               gridStats: {}, postStats: {}, requests: []};
  var TOKEN = 'citygrid.token', ROLE = 'citygrid.role', USER = 'citygrid.user';

  // Leaflet >= 1.8 dropped L.DomEvent.fakeStop, which VectorGrid 1.3 calls on clicks.
  if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = function (e) { e._stopped = true; }; }

  // --- helpers -------------------------------------------------------------------------
  function esc(v) {
    return String(v === null || v === undefined ? '' : v).replace(/[&<>"']/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
    });
  }
  function table(rows) {
    return '<table class="cg-popup">' + rows.filter(function (r) {
      return r[1] !== null && r[1] !== undefined && r[1] !== '';
    }).map(function (r) { return '<tr><td>' + esc(r[0]) + '</td><td>' + esc(r[1]) + '</td></tr>'; }).join('') +
      '</table>';
  }
  function token() { return sessionStorage.getItem(TOKEN); }
  function role() { return sessionStorage.getItem(ROLE) || 'public'; }
  function isStaff() { return !!token() && role() !== 'public'; }
  function getJSON(url) {
    state.requests.push(url);
    var headers = {Accept: 'application/json'};
    if (token()) headers.Authorization = 'Bearer ' + token();
    return fetch(url, {headers: headers}).then(function (r) {
      if (r.status === 401 && token()) signOut();  // expired: fall back to the public view
      return r.ok ? r.json() : null;
    }).catch(function () { return null; });
  }
  function qs(params) {
    return Object.keys(params).filter(function (k) { return params[k] !== null && params[k] !== undefined; })
      .map(function (k) { return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]); }).join('&');
  }
  // Dates in Rizhao's time zone; bare dates mean whole days (server side, Asia/Shanghai).
  function shanghaiDate(d) {
    return new Intl.DateTimeFormat('en-CA', {timeZone: 'Asia/Shanghai'}).format(d || new Date());
  }
  function periodInterval(period) {
    var today = shanghaiDate(), d = new Date(today + 'T00:00:00Z');
    if (period === 'today') return today + '/' + today;
    if (period === 'week') {
      d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));  // back to Monday
      return d.toISOString().slice(0, 10) + '/' + today;
    }
    if (period === 'month') return today.slice(0, 8) + '01/' + today;
    if (period === 'custom') {
      var a = document.getElementById('cg-from').value, b = document.getElementById('cg-to').value;
      if (!a && !b) return null;
      return (a || '..') + '/' + (b || '..');
    }
    return null;
  }

  // --- colours -------------------------------------------------------------------------
  var RAMP = ['#ffffcc', '#fed976', '#feb24c', '#fd8d3c', '#f03b20', '#bd0026'];
  var GI = {'-3': '#2166ac', '-2': '#67a9cf', '-1': '#d1e5f0', '0': '#f7f7f7', '1': '#fddbc7', '2': '#ef8a62',
            '3': '#b2182b'};
  var GI_LABEL = {'3': 'hot 99%', '2': 'hot 95%', '1': 'hot 90%', '0': 'not significant', '-1': 'cold 90%',
                  '-2': 'cold 95%', '-3': 'cold 99%'};
  var breaks = [0];
  function computeBreaks() {
    var vals = Object.keys(state.gridStats).map(function (k) { return state.gridStats[k][state.metric] || 0; })
      .filter(function (v) { return v > 0; }).sort(function (a, b) { return a - b; });
    breaks = [0];
    if (!vals.length) return;
    [0.2, 0.4, 0.6, 0.8].forEach(function (q) {
      var v = vals[Math.min(vals.length - 1, Math.floor(q * vals.length))];
      if (v > breaks[breaks.length - 1]) breaks.push(v);
    });
  }
  function rampColour(v) {
    if (!v) return RAMP[0];
    var i = 0;
    while (i + 1 < breaks.length && v >= breaks[i + 1]) i++;
    return RAMP[Math.min(RAMP.length - 1, i + 1)];
  }

  // --- overlays ------------------------------------------------------------------------
  var specs = {};
  cfg.overlays.forEach(function (s) { specs[s.key] = s; });
  var control;

  function gridStyle(f) {
    var s = specs.grids.style, st = state.gridStats[f.id] || {};
    return L.extend({}, s, {fillColor: rampColour(st[state.metric] || 0)});
  }
  function featureStyle(spec) {
    if (spec.key === 'grids') return gridStyle;
    if (spec.key === 'hotspots') {
      return function (f) {
        return L.extend({}, spec.style, {fillColor: GI[String(f.properties.gi_bin || 0)] || GI['0']});
      };
    }
    return function () { return spec.style; };
  }
  function popupFor(spec, f) {
    var p = f.properties || {};
    if (spec.key === 'grids') {
      var st = state.gridStats[f.id] || {};
      return '<b>' + esc(p.name) + '</b>' + table([['code', f.id], ['leader', p.leader], ['area km²', p.area_km2],
        ['cases in period', st.cases], ['open cases', st.open_cases], ['cases / km²', st.density_per_km2]]);
    }
    if (spec.key === 'posts') {
      var ps = state.postStats[f.id] || {};
      return '<b>' + esc(p.name) + '</b>' + table([['community', ps.community || p.community_code],
        ['hours', p.opening_hours], ['phone', p.phone], ['open cases', ps.open_cases], ['grid', p.grid_code]]);
    }
    if (spec.key === 'tracks_today' || spec.key === 'tracks_week') {
      var m = p.distance_m !== undefined ? p.distance_m : p.mileage_m;
      return '<b>Patrol ' + esc(f.id) + (p.campaign ? ' · ' + esc(p.campaign) : '') + '</b>' + table([
        // distance_sd_m: one sd of the mileage against what was walked (patrol.mileage.distance_sd_m)
        ['mileage', m === null || m === undefined ? null : (m / 1000).toFixed(2) +
          (p.distance_sd_m ? ' ± ' + (p.distance_sd_m / 1000).toFixed(2) : '') + ' km'],
        ['started', p.started_at], ['stopped', p.stopped_at], ['status', p.status],
        ['duration', p.duration_s ? Math.round(p.duration_s / 60) + ' min' : null],
        ['moving', p.moving_time_s ? Math.round(p.moving_time_s / 60) + ' min' : null], ['points', p.points]]);
    }
    if (spec.key === 'hotspots') {
      return '<b>Gi* ' + esc(GI_LABEL[String(p.gi_bin || 0)]) + '</b>' + table([['unit', p.unit_id],
        ['cases', p.count], ['z', p.statistic], ['p', p.p_value], ['period', (p.period_start || '..') + ' – ' +
        (p.period_end || '..')]]);
    }
    return '<b>' + esc(p.name || f.id) + '</b>' + table(Object.keys(p).filter(function (k) {
      return typeof p[k] !== 'object' || p[k] === null;
    }).map(function (k) { return [k, p[k]]; }));
  }
  function datetimeFor(spec) {
    if (spec.fixed) return periodInterval(spec.fixed);
    return spec.period ? state.datetime : null;
  }
  function itemsUrl(spec) {
    var params = L.extend({limit: 10000}, spec.query || {});
    params.datetime = datetimeFor(spec);
    if (state.coordSys !== 'wgs84') params.coord_sys = state.coordSys;
    return '/collections/' + spec.collection + '/items?' + qs(params);
  }
  function tilesUrl(spec) {
    var params = {datetime: datetimeFor(spec)};
    if (state.coordSys !== 'wgs84') params.coord_sys = state.coordSys;
    var q = qs(params);
    return '/tiles/' + spec.collection + '/{z}/{x}/{y}.pbf' + (q ? '?' + q : '');
  }

  function makeItemsLayer(spec) {
    return L.geoJSON(null, {
      style: featureStyle(spec),
      pointToLayer: function (f, latlng) { return L.circleMarker(latlng, spec.style); },
      onEachFeature: function (f, l) { l.bindPopup(function () { return popupFor(spec, f); }); }
    });
  }
  function casePopup(e) {
    var p = e.layer.properties || {}, id = p.service_request_id;
    var html = '<b>Case ' + esc(id) + '</b>' + table([['category', p.category], ['status', p.status],
      ['reported', p.reported_at], ['grid', p.grid_code], ['address', p.address_string]]);
    var popup = L.popup().setLatLng(e.latlng).setContent(html).openOn(map);
    if (isStaff() && id) {  // staff see the case details, reporter contact included
      caseDetails(id).then(function (h) { if (h) popup.setContent(h); });
    }
  }
  // A staff member's view of a case: details, the responsible department and the workflow
  // history (GET /api/cases/{id}: events with who, when and the department dispatched to).
  function caseDetails(id) {
    return getJSON('/api/cases/' + encodeURIComponent(id)).then(function (q) {
      if (!q) return null;
      var events = (q.events || []).map(function (ev) {
        return [String(ev.at || '').slice(0, 16).replace('T', ' '), ev.to_state + (ev.department_code
          ? ' → ' + ev.department_code : '') + (ev.actor ? ' (' + ev.actor + ')' : '')];
      });
      return '<b>Case ' + esc(id) + '</b>' + table([['category', q.category], ['status', q.status],
        ['reported', q.reported_at], ['due', q.due_at], ['department', q.department_name], ['grid', q.grid_code],
        ['address', q.address_string], ['description', q.description], ['reporter', q.reporter_name],
        ['phone', q.reporter_phone], ['source', q.source]]) +
        (events.length ? '<div class="cg-msg">History 处置过程</div>' + table(events) : '');
    });
  }
  function makeTilesLayer(spec) {
    var styles = {};
    styles[spec.collection] = function () { return spec.style; };
    var opts = {vectorTileLayerStyles: styles, interactive: spec.key === 'cases', maxNativeZoom: 18,
                rendererFactory: L.canvas.tile, pane: 'overlayPane',
                // with feature ids VectorGrid keeps each tile's renderer (layer._vectorTiles): what
                // is drawn can be counted (tests, console) and restyled per feature
                getFeatureId: function (f) {
                  var p = f.properties || {};
                  return p.service_request_id || p.id || p.code;
                }};
    if (spec.minZoom) opts.minZoom = spec.minZoom;
    var layer = L.vectorGrid.protobuf(tilesUrl(spec), opts);
    if (spec.key === 'cases') layer.on('click', casePopup);
    return layer;
  }

  function loadItems(spec) {
    var layer = layers[spec.key];
    return getJSON(itemsUrl(spec)).then(function (fc) {
      layer.clearLayers();
      if (fc && fc.features) layer.addData(fc);
      state.loaded[spec.key] = layer.getLayers().length;
      if (spec.key === 'grids') fillGridList(fc);
      return layer;
    });
  }
  function loadPositions(spec) {
    var layer = layers[spec.key];
    if (!isStaff()) { layer.clearLayers(); return Promise.resolve(layer); }
    var url = spec.endpoint + (state.coordSys !== 'wgs84' ? '?coord_sys=' + state.coordSys : '');
    return getJSON(url).then(function (rows) {
      layer.clearLayers();
      (rows || []).forEach(function (r) {
        if (r.lon === null || r.lat === null) return;
        L.circleMarker([r.lat, r.lon], spec.style).bindPopup('<b>Drone ' + esc(r.drone_id) + '</b>' + table([
          ['mission', r.mission_id], ['at', r.at], ['altitude m', r.alt_m], ['battery %', r.battery_pct],
          ['state', r.state]])).addTo(layer);
      });
      state.loaded[spec.key] = layer.getLayers().length;
      return layer;
    });
  }
  // Item layers that are switched off are fetched when switched on (and then kept current).
  var fresh = {};
  function reload(spec) {
    if (spec.kind === 'items') {
      if (!map.hasLayer(layers[spec.key])) { fresh[spec.key] = false; return Promise.resolve(layers[spec.key]); }
      fresh[spec.key] = true;
      return loadItems(spec);
    }
    if (spec.kind === 'positions') return loadPositions(spec);
    layers[spec.key].setUrl(tilesUrl(spec));
    return Promise.resolve(layers[spec.key]);
  }
  function loadGridStats() {
    if (!cfg.grid_stats) return Promise.resolve();
    var q = qs({datetime: state.datetime});
    return getJSON('/api/portal/grid-stats' + (q ? '?' + q : '')).then(function (s) {
      if (!s) return;
      state.gridStats = {};
      s.grids.forEach(function (g) { state.gridStats[g.code] = g; });
      state.postStats = {};
      s.posts.forEach(function (p) { state.postStats[p.code] = p; });
      restyleGrids();
    });
  }
  function restyleGrids() {
    computeBreaks();
    if (layers.grids) layers.grids.setStyle(gridStyle);
    updateLegend();
  }

  // --- basemaps ------------------------------------------------------------------------
  var bases = {'Plain 无底图': L.layerGroup()}, baseCoord = {'Plain 无底图': 'wgs84'}, startBase = 'Plain 无底图';
  Object.keys(cfg.basemaps).forEach(function (k) {
    var b = cfg.basemaps[k];
    var group = L.layerGroup(b.urls.map(function (u) {
      return L.tileLayer(u, {subdomains: b.subdomains, tk: cfg.tianditu_key || '', maxZoom: 18,
                             attribution: b.attribution});
    }));
    bases[b.label] = group;
    baseCoord[b.label] = b.coord_sys;
    if (cfg.default_basemap === k) startBase = b.label;
  });
  bases[startBase].addTo(map);
  state.coordSys = baseCoord[startBase];
  control = L.control.layers(bases, {}, {collapsed: false}).addTo(map);
  map.on('baselayerchange', function (e) {
    var cs = baseCoord[e.name] || 'wgs84';
    if (cs === state.coordSys) return;
    state.coordSys = cs;  // Gaode is GCJ-02: ask the server for shifted overlays
    cfg.overlays.forEach(reload);
  });

  // --- build the overlays -----------------------------------------------------------------
  var pending = [];
  cfg.overlays.forEach(function (spec) {
    var layer = spec.kind === 'tiles' ? makeTilesLayer(spec) : spec.kind === 'items' ? makeItemsLayer(spec)
      : L.layerGroup();
    layers[spec.key] = layer;
    if (!spec.staff) control.addOverlay(layer, spec.label);
    if (spec.on && !spec.staff) layer.addTo(map);
    if (spec.kind === 'items' && spec.on) { fresh[spec.key] = true; pending.push(loadItems(spec)); }
  });
  map.on('overlayadd', function (e) {
    cfg.overlays.forEach(function (spec) {
      if (layers[spec.key] === e.layer && spec.kind === 'items' && !fresh[spec.key]) reload(spec);
    });
  });
  pending.push(loadGridStats());
  var ready = Promise.all(pending).then(function () {
    state.readyAt = performance.now();  // from navigation start
    state.ready = true;
    updateLegend();
    return true;
  });

  // --- legend ------------------------------------------------------------------------
  var legend = L.control({position: 'bottomright'});
  legend.onAdd = function () {
    this._div = L.DomUtil.create('div', 'cg-legend');
    L.DomEvent.disableClickPropagation(this._div);
    return this._div;
  };
  legend.addTo(map);
  function updateLegend() {
    var metric = state.metric === 'open_cases' ? 'Open cases 未结案' : 'Cases / km² 案件密度';
    var html = '<b>Grids: ' + metric + '</b><br>';
    html += '<i style="background:' + RAMP[0] + '"></i>0<br>';
    for (var i = 1; i < breaks.length; i++) {
      html += '<i style="background:' + RAMP[Math.min(RAMP.length - 1, i)] + '"></i>≥ ' + esc(breaks[i]) + '<br>';
    }
    if (layers.hotspots && map.hasLayer(layers.hotspots)) {
      html += '<b>Hot spots Gi*</b><br>' + ['3', '2', '1', '0', '-1', '-2', '-3'].map(function (b) {
        return '<i style="background:' + GI[b] + '"></i>' + GI_LABEL[b];
      }).join('<br>') + '<br>';
    }
    var sym = [['posts', 'Service post'], ['cases', 'Case'], ['drones', 'Drone'], ['airspace', 'No-fly area'],
               ['tracks_today', 'Patrol today'], ['missions', 'Drone mission']];
    sym.forEach(function (s) {
      var spec = specs[s[0]];
      if (!spec || !layers[s[0]] || !map.hasLayer(layers[s[0]])) return;
      var c = spec.style.fillColor || spec.style.color;
      html += '<i class="' + (spec.style.radius ? 'cg-dot' : '') + '" style="background:' + c + '"></i>' + s[1] +
        '<br>';
    });
    html += '<span class="cg-msg">Period: ' + esc(state.datetime || 'all time') + (state.coordSys !== 'wgs84'
      ? ' · overlays in ' + esc(state.coordSys.toUpperCase()) : '') + '</span>';
    if (legend._div) legend._div.innerHTML = html;
  }
  map.on('overlayadd overlayremove', updateLegend);

  // --- period filter -----------------------------------------------------------------------
  function setPeriod(period) {
    state.period = period;
    state.datetime = periodInterval(period);
    var jobs = [loadGridStats()];
    cfg.overlays.forEach(function (spec) { if (spec.period) jobs.push(reload(spec)); });
    return Promise.all(jobs).then(function () { updateLegend(); return state.datetime; });
  }
  var periodSel = document.getElementById('cg-period');
  periodSel.addEventListener('change', function () {
    document.getElementById('cg-custom').style.display = periodSel.value === 'custom' ? '' : 'none';
    if (periodSel.value !== 'custom') setPeriod(periodSel.value);
  });
  document.getElementById('cg-apply').addEventListener('click', function () { setPeriod('custom'); });
  Array.prototype.forEach.call(document.querySelectorAll('input[name=cg-metric]'), function (r) {
    r.addEventListener('change', function () { state.metric = r.value; restyleGrids(); });
  });

  // --- grid search ---------------------------------------------------------------------
  function fillGridList(fc) {
    var list = document.getElementById('cg-grid-list');
    list.innerHTML = ((fc && fc.features) || []).map(function (f) {
      return '<option value="' + esc(f.id) + '">' + esc(f.properties.name) + '</option>';
    }).join('');
  }
  function searchGrid(q) {
    q = (q || '').trim();
    var msg = document.getElementById('cg-search-msg'), found = null;
    if (!q || !layers.grids) return null;
    layers.grids.eachLayer(function (l) {
      var f = l.feature;
      if (!found && (f.id === q || f.properties.name === q)) found = l;
    });
    if (!found) {
      layers.grids.eachLayer(function (l) {
        var f = l.feature;
        if (!found && (String(f.id).indexOf(q) === 0 || (f.properties.name || '').indexOf(q) >= 0)) found = l;
      });
    }
    if (!found) { msg.textContent = 'No grid matches “' + q + '”'; return null; }
    msg.textContent = found.feature.id + ' ' + found.feature.properties.name;
    if (!map.hasLayer(layers.grids)) layers.grids.addTo(map);
    map.fitBounds(found.getBounds(), {maxZoom: 16});
    found.openPopup();
    return found.feature.id;
  }
  document.getElementById('cg-search').addEventListener('submit', function (e) {
    e.preventDefault();
    searchGrid(document.getElementById('cg-search-q').value);
  });

  // --- sign-in -----------------------------------------------------------------------------
  function showWho() {
    var who = document.getElementById('cg-who'), staff = isStaff();
    who.textContent = token()
      ? 'Signed in: ' + sessionStorage.getItem(USER) + ' (' + role() + ')' + (staff
        ? ' — staff view: case details with reporter contact, drone positions.' : ' — public view.')
      : 'Public view: reference layers, case locations and status; no personal data. Sign in for more.';
    document.getElementById('cg-login').style.display = token() ? 'none' : '';
    document.getElementById('cg-logout').style.display = token() ? '' : 'none';
    cfg.overlays.forEach(function (spec) {
      if (!spec.staff) return;
      var layer = layers[spec.key];
      if (staff) {
        if (!control._getLayer(L.stamp(layer))) control.addOverlay(layer, spec.label);
        if (spec.on) layer.addTo(map);
      } else {
        control.removeLayer(layer);
        map.removeLayer(layer);
      }
      reload(spec);
    });
  }
  function signIn(user, pass) {
    var body = new URLSearchParams({username: user, password: pass});
    return fetch('/auth/token', {method: 'POST', body: body}).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (t) {
      if (!t) { document.getElementById('cg-who').textContent = 'Sign-in failed: wrong user or password.'; return null; }
      sessionStorage.setItem(TOKEN, t.access_token);
      sessionStorage.setItem(ROLE, t.role);
      sessionStorage.setItem(USER, user);
      showWho();
      // Staff-only columns (e.g. mission details) come with the token: reload the item layers.
      cfg.overlays.forEach(function (spec) { if (spec.kind === 'items' && !spec.staff) reload(spec); });
      return t.role;
    });
  }
  function signOut() {
    [TOKEN, ROLE, USER].forEach(function (k) { sessionStorage.removeItem(k); });
    showWho();
  }
  document.getElementById('cg-login').addEventListener('submit', function (e) {
    e.preventDefault();
    signIn(document.getElementById('cg-user').value, document.getElementById('cg-pass').value);
  });
  document.getElementById('cg-logout').addEventListener('click', signOut);
  L.DomEvent.disableClickPropagation(document.getElementById('cg-panel'));
  L.DomEvent.disableScrollPropagation(document.getElementById('cg-panel'));
  showWho();
  setInterval(function () {
    cfg.overlays.forEach(function (spec) { if (spec.kind === 'positions' && isStaff()) reload(spec); });
  }, 15000);

  window.citygridPortal = {state: state, ready: ready, setPeriod: setPeriod, searchGrid: searchGrid,
                           signIn: signIn, signOut: signOut, reload: reload, caseDetails: caseDetails, config: cfg};
})();
