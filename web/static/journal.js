/* The Journal page: charts of stress before and after sessions and of sleep (SVG drawn here,
 * nothing from a CDN). The questions themselves are in ask.js. The API is /api/v1/journal
 * (web/journal_api.py). */
(function () {
  "use strict";
  var h = MH.h, api = MH.api;
  var SVG = "http://www.w3.org/2000/svg";

  function quiet() {}
  function s(tag, attrs, text) {
    var el = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text !== undefined) el.textContent = text;
    return el;
  }
  // a week's Monday as a person says it ("30 Nov"), not "2026-11-30"
  function weekName(iso) {
    var d = new Date(iso + "T12:00:00");
    return isNaN(d) ? iso : d.toLocaleDateString([], {day: "numeric", month: "short"});
  }
  function known(v) { return v !== null && v !== undefined; }

  // --- the Journal page ---------------------------------------------------------------------

  /* A line chart of weekly averages: series [{key, label, cls}], y from lo to hi. */
  function chart(weeks, series, lo, hi, title) {
    var W = 340, H = 170, L = 28, R = 8, T = 10, B = 28;
    var svg = s("svg", {viewBox: "0 0 " + W + " " + H, class: "chart", role: "img", "aria-label": title});
    var x = function (i) { return L + (weeks.length < 2 ? (W - L - R) / 2 : i * (W - L - R) / (weeks.length - 1)); };
    var y = function (v) { return T + (hi - v) * (H - T - B) / (hi - lo); };
    for (var v = lo; v <= hi; v += (hi - lo > 5 ? 2 : 1)) {
      svg.appendChild(s("line", {x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid"}));
      svg.appendChild(s("text", {x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end"}, String(v)));
    }
    weeks.forEach(function (w, i) {
      if (weeks.length <= 8 || i % Math.ceil(weeks.length / 8) === 0) {
        // the last week's name ends at the last point, so it is not cut at the chart's edge
        var end = weeks.length > 1 && i === weeks.length - 1;
        svg.appendChild(s("text", {x: x(i), y: H - 8, class: "axis", "text-anchor": end ? "end" : "middle"}, weekName(w.week)));
      }
    });
    series.forEach(function (se) {
      var pts = [];
      weeks.forEach(function (w, i) { if (known(w[se.key])) pts.push([x(i), y(w[se.key]), w]); });
      if (pts.length > 1) svg.appendChild(s("polyline", {points: pts.map(function (p) { return p[0] + "," + p[1]; }).join(" "), class: "line " + se.cls}));
      pts.forEach(function (p) {
        var dot = s("circle", {cx: p[0], cy: p[1], r: 3.5, class: "dot " + se.cls, "data-series": se.key});
        var n = p[2].entries[se.key === "sleep" ? "morning" : se.key];
        dot.appendChild(s("title", {}, se.label + ", week of " + weekName(p[2].week) + ": " + p[2][se.key] + " (" + n + " rating" + (n === 1 ? "" : "s") + ")"));
        svg.appendChild(dot);
      });
    });
    var legend = h("div", {class: "legend"}, series.map(function (se) { return h("span", {class: "key " + se.cls, text: se.label}); }));
    return h("figure", {class: "chart-box"}, h("figcaption", {text: title}), svg, legend);
  }

  MH.page("journal", {
    mount: function (el) {
      var self = this;
      self.profile = "";
      self.who = h("select", {id: "journal-who", onchange: function () { self.profile = self.who.value; self.load(); }});
      self.csv = h("a", {class: "btn small", id: "journal-csv", href: "/api/v1/journal.csv", download: "journal.csv", text: "Download CSV"});
      self.out = h("div", {"data-testid": "journal-insight"});
      el.appendChild(h("div", {class: "row"}, h("h2", {class: "grow", text: "Journal"}), self.csv));
      el.appendChild(h("label", {for: "journal-who"}, "Whose journal"));
      el.appendChild(self.who);
      el.appendChild(self.out);
    },
    show: function () {
      var self = this;
      MH.people.load().then(function (list) {
        self.who.textContent = "";
        self.who.appendChild(h("option", {value: "", text: "Everyone"}));
        list.forEach(function (p) { var o = h("option", {value: p.id, text: p.name}); if (p.id === self.profile) o.selected = true; self.who.appendChild(o); });
        self.load();
      }, quiet);
    },
    load: function () {
      var self = this, q = self.profile ? "?profile=" + encodeURIComponent(self.profile) : "";
      self.csv.setAttribute("href", "/api/v1/journal.csv" + q);
      api("GET", "/journal/insight" + q).then(function (d) { self.render(d); }, quiet);
    },
    render: function (d) {
      var out = this.out;
      out.textContent = "";
      var summary = h("div", {class: "card", "data-testid": "journal-summary"});
      if (!d.enough) {
        summary.appendChild(h("p", {class: "big-note", text: "Not enough sessions yet"}));
        summary.appendChild(h("p", {class: "muted", text: d.sessions + " of " + d.min_sessions + " sessions with a stress rating before and after. " +
          "Figures show once there are " + d.min_sessions + "; answer on the Now page before you start and after each session."}));
      } else {
        var drop = d.average_drop;
        summary.appendChild(h("p", {class: "big-note", text: (drop >= 0 ? "Stress " + drop + " points lower" : "Stress " + (-drop) + " points higher") + " after a session, on average"}));
        summary.appendChild(h("p", {class: "muted", text: "From " + d.sessions + " ratings before and after, in " + d.rated_sessions + " session" + (d.rated_sessions === 1 ? "" : "s") + " (0 = calm, 10 = very stressed). This shows what went together, not what caused it."}));
      }
      if (d.sleep_nights) {
        summary.appendChild(h("p", {class: "muted", text: known(d.average_sleep) ? "Sleep after an evening session: " + d.average_sleep + " of 5, from " + d.sleep_nights + " nights." :
          "Sleep: " + d.sleep_nights + " night" + (d.sleep_nights === 1 ? "" : "s") + " rated; not enough sessions yet for an average."}));
      }
      out.appendChild(summary);
      if (d.enough && d.weeks.length) {  // below the minimum a line would claim more than it knows
        out.appendChild(h("div", {class: "card"}, chart(d.weeks, [{key: "before", label: "before", cls: "before"}, {key: "after", label: "after", cls: "after"}], 0, 10, "Stress by week (average)")));
        if (d.weeks.some(function (w) { return known(w.sleep); })) {
          out.appendChild(h("div", {class: "card"}, chart(d.weeks, [{key: "sleep", label: "sleep", cls: "sleep"}], 1, 5, "Sleep by week (1 = badly, 5 = very well)")));
        }
      }
      var table = h("tbody");
      d.scenes.forEach(function (sc) {
        table.appendChild(h("tr", {"data-scene": sc.scene}, h("td", {text: sc.scene}),
          h("td", {class: "value", text: known(sc.average_drop) ? (sc.average_drop >= 0 ? "−" + sc.average_drop : "+" + (-sc.average_drop)) : sc.message}),
          h("td", {class: "muted", text: sc.sessions + " session" + (sc.sessions === 1 ? "" : "s")})));
      });
      if (!d.scenes.length) table.appendChild(h("tr", null, h("td", {class: "muted", colspan: 3, text: "No sessions rated before and after yet."})));
      out.appendChild(h("div", {class: "card"}, h("h3", {text: "Change in stress by scene"}),
        h("table", {"data-testid": "scene-drops"}, h("thead", null, h("tr", null, h("th", {text: "Scene"}), h("th", {text: "Average change"}), h("th", {text: "Behind it"}))), table),
        h("p", {class: "muted small", text: "A scene gets a figure from " + d.min_sessions + " rated sessions on."})));
    }
  });

  MH.journal.chart = chart;
})();
