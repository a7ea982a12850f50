// The boards' charts, drawn with Apache ECharts from the JSON the page
// carries (#chart-data, written by html/template) and, on the wall, from
// GET /wall/data and the live queue's events (wall() below). No inline script: the pages' content
// security policy admits scripts from the console only.
(function () {
  'use strict';
  var el = document.getElementById('chart-data');
  if (!el || typeof echarts === 'undefined') { return; }
  var data = JSON.parse(el.textContent);
  // The charts letter in the page's font stack (layout.html: the Chinese
  // system fonts of dispatchers' PCs, then the free CJK fonts of Linux).
  var font = window.getComputedStyle(document.body).fontFamily;
  var text = function (id, v) { var n = document.getElementById(id); if (n) { n.textContent = String(v); } };

  function pareto(d) {
    var chart = echarts.init(document.getElementById('chart'));
    chart.setOption({
      textStyle: { fontFamily: font },
      tooltip: { trigger: 'axis' },
      legend: { data: ['件数', '累计占比'] },
      grid: { left: 50, right: 60, bottom: 90 },
      xAxis: { type: 'category', data: d.names, axisLabel: { rotate: 35, interval: 0 } },
      yAxis: [{ type: 'value', name: '件数' }, { type: 'value', name: '累计%', min: 0, max: 100 }],
      series: [
        { name: '件数', type: 'bar', data: d.counts, itemStyle: { color: '#1d4e89' } },
        { name: '累计占比', type: 'line', yAxisIndex: 1, data: d.cumulative, smooth: false,
          markLine: { silent: true, symbol: 'none', data: [{ yAxis: 80 }], lineStyle: { color: '#b42318' } } }
      ]
    });
    window.addEventListener('resize', function () { chart.resize(); });
  }

  // The wall: the counts and the trend from GET /wall/data every 30 s; the
  // open cases' markers from it once, then from the live queue's events
  // (GET /live/events?view=wall: "marker" with a case's JSON, "remove" with
  // "case-<id>"), so a marker appears, moves and changes colour as its case
  // does. The lights turn by the clock here too, as on the live queue.
  function wall(d) {
    echarts.registerMap('area', d.map);
    var palette = ['#2e90fa', '#12b76a', '#f79009', '#9e77ed', '#ee46bc', '#06aed4'];
    var colours = { green: '#32d583', yellow: '#fdb022', red: '#f97066', none: '#9aa5b1' };
    var names = { green: '正常', yellow: '临期', red: '超期', none: '未计时' };
    var streets = Object.keys(d.streets).sort();
    var regions = d.map.features.map(function (f) {
      var i = streets.indexOf(f.properties.street);
      return { name: f.properties.name, itemStyle: { areaColor: palette[(i < 0 ? 0 : i) % palette.length], opacity: 0.35 } };
    });
    var map = echarts.init(document.getElementById('map'));
    var trend = echarts.init(document.getElementById('trend'));
    var esc = echarts.format.encodeHTML;
    map.setOption({
      textStyle: { fontFamily: font },
      tooltip: { trigger: 'item', formatter: function (p) {
        if (p.seriesType !== 'scatter') { return esc(p.name); }
        var c = p.data.c;
        return esc(c.number || c.id) + '<br>' + esc(c.grid_name || c.grid || '') + ' · ' + names[c.light];
      } },
      geo: { map: 'area', roam: true, regions: regions, label: { show: false }, itemStyle: { borderColor: '#9ec5fe', areaColor: '#12305a' },
        emphasis: { label: { show: true, color: '#fff' } } },
      series: [{ type: 'scatter', coordinateSystem: 'geo', data: [], symbolSize: 9, animation: false }]
    });
    trend.setOption({
      textStyle: { fontFamily: font },
      tooltip: { trigger: 'axis' }, grid: { left: 40, right: 10, top: 30, bottom: 25 },
      title: { text: '近七日受理', textStyle: { color: '#e6eef8', fontSize: 14 } },
      xAxis: { type: 'category', data: [], axisLabel: { color: '#e6eef8' } }, yAxis: { type: 'value', axisLabel: { color: '#e6eef8' } },
      series: [{ type: 'line', data: [], areaStyle: {}, itemStyle: { color: '#2e90fa' } }]
    });

    var cases = {};        // case id → marker (WallCase)
    var capped = false;    // /wall/data read only the newest open cases
    var loading = null;    // events that came while /wall/data was read
    var list = document.getElementById('wall-cases');
    function lightOf(c, now) {
      if (!c.start_ms || !c.due_ms || c.due_ms <= c.start_ms) { return 'none'; }
      var used = now - c.start_ms, limit = c.due_ms - c.start_ms;
      if (used > limit) { return 'red'; }
      return used * 5 >= limit * 4 ? 'yellow' : 'green';
    }
    var pending = false;
    function draw() {
      if (pending) { return; }
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        var now = Date.now(), counts = { green: 0, yellow: 0, red: 0, none: 0 }, points = [];
        Object.keys(cases).forEach(function (id) {
          var c = cases[id];
          c.light = lightOf(c, now);
          counts[c.light]++;
          points.push({ name: c.number || c.id, value: [c.lng, c.lat], c: c, itemStyle: { color: colours[c.light] } });
          var li = document.getElementById('wall-case-' + id);
          if (li) { li.dataset.light = c.light; li.dataset.lng = c.lng; li.dataset.lat = c.lat; }
        });
        map.setOption({ series: [{ data: points }] });
        if (!capped) {
          text('sla-green', counts.green); text('sla-yellow', counts.yellow); text('sla-red', counts.red);
          text('open', points.length);
        }
      });
    }
    function put(c) {
      cases[c.id] = c;
      if (!list) { return; }
      var li = document.getElementById('wall-case-' + c.id);
      if (!li) {
        li = document.createElement('li');
        li.id = 'wall-case-' + c.id;
        li.dataset.case = c.id;
        list.appendChild(li);
      }
      li.textContent = c.number || c.id;
      li.dataset.light = c.light; li.dataset.lng = c.lng; li.dataset.lat = c.lat;
    }
    function drop(id) {
      delete cases[id];
      var li = document.getElementById('wall-case-' + id);
      if (li) { li.remove(); }
    }
    function apply(ev) {
      if (ev.type === 'marker') { put(JSON.parse(ev.data)); } else { drop(ev.data.trim().replace(/^case-/, '')); }
    }
    function onEvent(ev) {
      if (loading) { loading.push(ev); return; }
      apply(ev);
      draw();
    }

    function refresh(withMarkers) {
      if (withMarkers) { loading = loading || []; }
      fetch('/wall/data', { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
        .then(function (res) {
          if (!res.ok) { text('generated', '刷新失败：' + (res.body.error || '')); return; }
          var w = res.body;
          text('generated', '更新于 ' + w.generated);
          text('received', w.today.received); text('handled', w.today.handled); text('closed', w.today.closed);
          text('overdue', w.today.overdue_open);
          capped = w.capped;
          if (capped) {
            text('sla-green', w.sla.green); text('sla-yellow', w.sla.yellow); text('sla-red', w.sla.red);
            text('open', w.open_cases + '+');
          }
          trend.setOption({ xAxis: { data: w.trend.map(function (t) { return t.day; }) }, series: [{ data: w.trend.map(function (t) { return t.cases; }) }] });
          if (withMarkers) {
            Object.keys(cases).forEach(drop);
            (w.cases || []).forEach(put);
          }
        })
        .catch(function () { text('generated', '刷新失败，稍后重试'); })
        .then(function () {
          if (withMarkers && loading) {
            var evs = loading;
            loading = null;
            evs.forEach(apply);
          }
          draw();
        });
    }

    var status = document.getElementById('wall-live');
    var es = new EventSource('/live/events?view=wall');
    es.addEventListener('marker', onEvent);
    es.addEventListener('remove', onEvent);
    es.addEventListener('ended', function () { es.close(); text('wall-live', '会话已结束，请重新登录。'); });
    // On every (re)connect the markers are read again: a reconnect may have
    // missed events.
    es.onopen = function () { if (status) { status.textContent = '实时推送已连接'; } refresh(true); };
    es.onerror = function () {
      if (status) { status.textContent = es.readyState === EventSource.CLOSED ? '实时推送已断开，请刷新页面' : '实时推送中断，正在重连…'; }
    };
    setInterval(function () { refresh(false); }, 30000);
    setInterval(draw, 15000);
    window.addEventListener('resize', function () { map.resize(); trend.resize(); });
  }

  if (data.kind === 'pareto') { pareto(data); }
  if (data.kind === 'wall') { wall(data); }
})();
