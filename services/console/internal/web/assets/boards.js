// The boards' charts, drawn with Apache ECharts from the JSON the page
// carries (#chart-data, written by html/template) and, on the wall, from
// GET /wall/data every 30 seconds. No inline script: the pages' content
// security policy admits scripts from the console only.
(function () {
  'use strict';
  var el = document.getElementById('chart-data');
  if (!el || typeof echarts === 'undefined') { return; }
  var data = JSON.parse(el.textContent);
  var text = function (id, v) { var n = document.getElementById(id); if (n) { n.textContent = String(v); } };

  function pareto(d) {
    var chart = echarts.init(document.getElementById('chart'));
    chart.setOption({
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

  function wall(d) {
    echarts.registerMap('area', d.map);
    var palette = ['#2e90fa', '#12b76a', '#f79009', '#9e77ed', '#ee46bc', '#06aed4'];
    var streets = Object.keys(d.streets).sort();
    var regions = d.map.features.map(function (f) {
      var i = streets.indexOf(f.properties.street);
      return { name: f.properties.name, itemStyle: { areaColor: palette[(i < 0 ? 0 : i) % palette.length], opacity: 0.35 } };
    });
    var map = echarts.init(document.getElementById('map'));
    var trend = echarts.init(document.getElementById('trend'));
    map.setOption({
      tooltip: { trigger: 'item', formatter: function (p) { return p.seriesType === 'scatter' ? p.name + '：在办 ' + p.value[2] + ' 件' : p.name; } },
      geo: { map: 'area', roam: true, regions: regions, label: { show: false }, itemStyle: { borderColor: '#9ec5fe', areaColor: '#12305a' },
        emphasis: { label: { show: true, color: '#fff' } } },
      series: [{ type: 'effectScatter', coordinateSystem: 'geo', data: [], symbolSize: function (v) { return 8 + Math.min(24, v[2] * 3); },
        itemStyle: { color: '#f97066' } }]
    });
    trend.setOption({
      tooltip: { trigger: 'axis' }, grid: { left: 40, right: 10, top: 30, bottom: 25 },
      title: { text: '近七日受理', textStyle: { color: '#e6eef8', fontSize: 14 } },
      xAxis: { type: 'category', data: [], axisLabel: { color: '#e6eef8' } }, yAxis: { type: 'value', axisLabel: { color: '#e6eef8' } },
      series: [{ type: 'line', data: [], areaStyle: {}, itemStyle: { color: '#2e90fa' } }]
    });
    function refresh() {
      fetch('/wall/data', { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
        .then(function (res) {
          if (!res.ok) { text('generated', '刷新失败：' + (res.body.error || '')); return; }
          var w = res.body;
          text('generated', '更新于 ' + w.generated);
          text('received', w.today.received); text('handled', w.today.handled); text('closed', w.today.closed);
          text('overdue', w.today.overdue_open); text('sla-green', w.sla.green); text('sla-yellow', w.sla.yellow);
          text('sla-red', w.sla.red); text('open', w.open_cases + (w.capped ? '+' : ''));
          map.setOption({ series: [{ data: (w.markers || []).map(function (m) { return { name: m.name, value: m.value }; }) }] });
          trend.setOption({ xAxis: { data: w.trend.map(function (t) { return t.day; }) }, series: [{ data: w.trend.map(function (t) { return t.cases; }) }] });
        })
        .catch(function () { text('generated', '刷新失败，稍后重试'); });
    }
    refresh();
    setInterval(refresh, 30000);
    window.addEventListener('resize', function () { map.resize(); trend.resize(); });
  }

  if (data.kind === 'pareto') { pareto(data); }
  if (data.kind === 'wall') { wall(data); }
})();
