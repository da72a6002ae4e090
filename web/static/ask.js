/* The journal's questions: "before" on the start form (sent with Start, while the person still
 * sits up), "after" and the morning's sleep in a card on the Now page once the session has
 * ended, and a missed "after" from History. Never during a session: nothing of the journal
 * stands between a person and Stop. The Journal page's charts are in journal.js. */
(function () {
  "use strict";
  var h = MH.h, api = MH.api, toast = MH.toast;

  function quiet() {}
  function known(v) { return v !== null && v !== undefined; }
  function evening(iso) { return new Date(iso).getHours() >= 17; }
  function nextMorning(iso) {  // the morning after an evening session, until noon
    var start = new Date(iso), now = new Date();
    var next = new Date(start.getFullYear(), start.getMonth(), start.getDate() + 1);
    return now >= next && now < new Date(next.getTime() + 12 * 3600 * 1000);
  }
  function numbers(scale, label, onTap) {
    return h("div", {class: "scale", role: "group", "aria-label": label}, scale.map(function (n) {
      return h("button", {class: "chip num", type: "button", "data-value": n, text: String(n), onclick: function () { onTap(n, this); }});
    }));
  }

  /* One question for person ``p`` of the ended session ``row`` (after, morning); ``onDone``
   * after the answer is saved. Also used by History, for an "after" missed at the time. */
  function ask(row, p, when, onDone) {
    var areas = [];
    var q = {after: p.name + ": and now, after the session?", morning: p.name + ": how did you sleep?"}[when];
    var box = h("div", {class: "ask", "data-ask": when, "data-person": p.profile});
    box.appendChild(h("p", {class: "q", text: q}));
    if (when !== "morning") {
      box.appendChild(h("p", {class: "muted small", text: "Tense areas (optional), then one tap on the number:"}));
      box.appendChild(MH.people.areaChips([], function (a) { areas = a; }));
    }
    box.appendChild(numbers(when === "morning" ? [1, 2, 3, 4, 5] : [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], q, function (n) {
      var entry = {session_id: row.id, profile: p.profile, when: when};
      if (when === "morning") entry.sleep = n; else { entry.stress = n; entry.areas = areas; }
      api("POST", "/journal", entry).then(function () {
        box.remove();
        toast("Noted, thank you.", true);
        if (onDone) onDone(n);
      }, quiet);
    }));
    box.appendChild(h("p", {class: "muted small", text: when === "morning" ? "1 = badly, 5 = very well" : "0 = calm, 10 = very stressed"}));
    return box;
  }

  /* The start form's "before": for each person picked, how stressed now (a tap on a number, a
   * second tap takes it back) and, if they like, the tense areas. now.js sends the answers in
   * the start request itself, so they are kept with the session even if the phone goes away. */
  function before() {
    var el = h("div", {class: "before", hidden: true, "data-testid": "before-form"});
    var answers = {}, shown = "", ids = [];
    el.people = function (list) {
      var key = list.map(function (p) { return p.id + ":" + p.name; }).join();
      if (key === shown) return;
      shown = key; ids = list.map(function (p) { return p.id; });
      el.textContent = "";
      el.hidden = !list.length;
      if (!list.length) return;
      el.appendChild(h("h3", {text: "Before you lie down (optional)"}));
      list.forEach(function (p) {
        var a = answers[p.id] || (answers[p.id] = {stress: null, areas: []});
        var q = p.name + ": how stressed are you now?";
        var box = h("div", {class: "ask", "data-ask": "before", "data-person": p.id});
        var scale = numbers([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], q, function (n) {
          a.stress = a.stress === n ? null : n;
          paint();
        });
        var areas = MH.people.areaChips(a.areas, function (x) { a.areas = x; });
        areas.hidden = !a.areas.length;
        function paint() { scale.querySelectorAll("[data-value]").forEach(function (b) { MH.press(b, +b.dataset.value === a.stress); }); }
        box.appendChild(h("p", {class: "q", text: q}));
        box.appendChild(scale);
        box.appendChild(h("div", {class: "row"}, h("span", {class: "muted small grow", text: "0 = calm, 10 = very stressed"}),
          h("button", {class: "chip small", type: "button", "aria-expanded": String(!areas.hidden), text: "Tense areas", onclick: function () {
            areas.hidden = !areas.hidden; this.setAttribute("aria-expanded", String(!areas.hidden));
          }})));
        box.appendChild(areas);
        paint();
        el.appendChild(box);
      });
    };
    /* {profile id: {stress, areas}} of the people shown who answered, or null. */
    el.value = function () {
      var out = null;
      ids.forEach(function (id) {
        var a = answers[id];
        if (a && known(a.stress)) { out = out || {}; out[id] = {stress: a.stress, areas: a.areas}; }
      });
      return out;
    };
    el.clear = function (list) { answers = {}; shown = ""; el.people(list || []); };
    return el;
  }

  /* After a session has ended: asks each of its people "and now?" (and the sleep, the morning
   * after an evening session). Hidden while a session runs. */
  function card() {
    var el = h("div", {class: "card journal-card", hidden: true, "data-testid": "journal-card"});
    var key = null, done = {};
    function render(row) {
      el.textContent = "";
      if (!row || !(row.people || []).length || !row.end_reason) { el.hidden = true; return; }
      row.people.forEach(function (p) {
        var due = [];
        if (!known(p.after) && row.end_reason !== "interrupted") due.push("after");
        if (!known(p.sleep) && evening(row.started_at) && nextMorning(row.started_at)) due.push("morning");
        due.forEach(function (when) {
          if (done[row.id + "/" + p.profile + "/" + when]) return;
          el.appendChild(ask(row, p, when, function () {
            done[row.id + "/" + p.profile + "/" + when] = true;
            if (!el.querySelector(".ask")) el.hidden = true;
          }));
        });
      });
      el.hidden = !el.querySelector(".ask");
    }
    el.update = function (st) {
      var sess = st.session, last = st.last_session;
      var k = sess ? "running" : last ? "l" + last.id : "none";
      if (k === key) return;
      key = k;
      el.textContent = ""; el.hidden = true;  // the last session's questions go at once, not when the hub answers
      if (sess || !last || !(last.people || []).length) return;  // in a session, or nobody to ask
      api("GET", "/history?limit=1").then(function (d) { render(d.sessions[0]); }, quiet);
    };
    return el;
  }

  MH.journal = {card: card, ask: ask, before: before};
})();
