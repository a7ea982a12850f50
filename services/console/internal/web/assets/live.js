// The live queue: rows arrive as server-sent events rendered by the server
// (html/template, citizen text escaped there); this only places them and
// keeps the SLA lights and counts current.
(function () {
  "use strict";
  var body = document.getElementById("live-rows");
  var status = document.getElementById("live-status");
  if (!body) { return; }
  function light(tr, now) {
    var s = +tr.dataset.start, d = +tr.dataset.due;
    if (tr.dataset.running !== "1" || !s || !d || d <= s) { return "none"; }
    var used = now - s, limit = d - s;
    if (used > limit) { return "red"; }
    return used * 5 >= limit * 4 ? "yellow" : "green";
  }
  function relight() {
    var now = Date.now(), counts = {total: 0, green: 0, yellow: 0, red: 0, none: 0};
    body.querySelectorAll("tr[data-case]").forEach(function (tr) {
      var l = light(tr, now);
      tr.dataset.light = l;
      counts[l]++;
      counts.total++;
    });
    Object.keys(counts).forEach(function (k) {
      var el = document.getElementById("count-" + k);
      if (el) { el.textContent = counts[k]; }
    });
  }
  var es = new EventSource("/live/events" + location.search);
  es.addEventListener("row", function (ev) {
    var t = document.createElement("template");
    t.innerHTML = ev.data.trim();
    var tr = t.content.querySelector("tr");
    if (!tr) { return; }
    var old = document.getElementById(tr.id);
    if (old) { old.remove(); }
    var empty = document.getElementById("live-empty");
    if (empty) { empty.remove(); }
    body.prepend(tr);
    relight();
  });
  // Early warning (issue 20): feedback's warnings, newest first.
  var warnings = document.getElementById("live-warnings");
  es.addEventListener("warning", function (ev) {
    var t = document.createElement("template");
    t.innerHTML = ev.data.trim();
    var li = t.content.querySelector("li");
    if (!li || !warnings) { return; }
    var empty = document.getElementById("live-warnings-empty");
    if (empty) { empty.remove(); }
    warnings.prepend(li);
  });
  es.addEventListener("remove", function (ev) {
    var old = document.getElementById(ev.data.trim());
    if (old) { old.remove(); relight(); }
  });
  es.addEventListener("ended", function () {
    es.close();
    status.textContent = "会话已结束，请重新登录。";
  });
  var opened = false;
  es.onopen = function () {
    // A reconnect may have missed rows: read the list again from feedback.
    if (opened) { location.reload(); return; }
    opened = true;
    status.textContent = "实时推送已连接";
  };
  es.onerror = function () {
    status.textContent = es.readyState === EventSource.CLOSED ? "实时推送已断开，请刷新页面（会话可能已过期）" : "实时推送中断，正在重连…";
  };
  relight();
  setInterval(relight, 15000);
})();
