/* Now page: what runs (session, routine), the next routine, one-tap start, the room. */
(function () {
  "use strict";
  var h = MH.h, api = MH.api, toast = MH.toast, clock = MH.clock;
  var MINUTES = [15, 30, 45, 60, 75, 90, 120];
  var SVG = "http://www.w3.org/2000/svg", R = 96, CIRC = 2 * Math.PI * R;
  var lock = null;  // the screen wake lock held during a session

  function remembered(scene) {
    try { return +localStorage.getItem("mh.minutes." + scene.id) || scene.default_minutes || 60; } catch (e) { return scene.default_minutes || 60; }
  }
  function remember(sceneId, minutes) { try { localStorage.setItem("mh.minutes." + sceneId, String(minutes)); } catch (e) { /* private mode */ } }
  // "my usual": the scene and length of the last session started here (who lies where is the room's: state.table)
  function usual() { try { return JSON.parse(localStorage.getItem("mh.usual")) || null; } catch (e) { return null; } }
  function keepUsual(scene, minutes) { try { localStorage.setItem("mh.usual", JSON.stringify({scene: scene, minutes: minutes})); } catch (e) { /* private mode */ } }
  function whoWords(people, st) {
    return people.map(function (p) {
      var pad = p.pad && st.devices[p.pad] ? " (" + st.devices[p.pad].name + ")" : "";
      return p.name + pad;
    }).join(", ");
  }
  /* What a scene did to the room, in words, for the summary at the end. */
  function didWords(sc, inWarmUp) {
    if (inWarmUp) return "Only the table was warming; the lights, mist and music had not started. Everything is off now.";
    if (!sc) return "Everything is off now.";
    var out = [], lights = Object.keys(sc.lights || {}).map(function (k) { return sc.lights[k]; });
    if (lights.length) out.push("lights at " + Math.round(Math.max.apply(null, lights) * 100) + " %");
    var heat = Object.keys(sc.heat || {}).map(function (k) { return sc.heat[k]; }).filter(function (v) { return v && v !== "off"; });
    if (heat.length) out.push("the table warmed (" + heat[0] + ")");
    if (sc.diffuser && sc.diffuser !== "off") out.push("aroma mist");
    if (sc.volume) out.push("music");
    return (out.length ? "It gave " + out.join(", ") + ", within the limits of who was there. " : "") + "Everything is off now.";
  }
  function wake(on) {
    if (on && !lock && navigator.wakeLock && document.visibilityState === "visible") {
      navigator.wakeLock.request("screen").then(function (l) { lock = l; l.addEventListener("release", function () { lock = null; }); }, function () {});
    } else if (!on && lock) { lock.release(); lock = null; }
  }
  function svgEl(tag, attrs) {
    var el = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    return el;
  }

  MH.wakeLocked = function () { return !!lock; };  // the screen is kept on (a session runs)

  MH.page("now", {
    mount: function (el) {
      var self = this;
      self.scene = null; self.minutes = 60;
      self.banner = h("div", {class: "banner", hidden: true, "data-testid": "interrupted", role: "region", "aria-label": "Interrupted session"});
      self.routineRun = h("div", {class: "card routine-now", hidden: true, "data-testid": "routine-running"});
      self.routineNext = h("div", {class: "next-routine", hidden: true, "data-testid": "next-routine"});
      self.sceneChips = h("div", {class: "chips", role: "group", "aria-label": "Scene", "data-testid": "scene-chips"});
      self.minuteChips = h("div", {class: "chips", role: "group", "aria-label": "Length"}, MINUTES.map(function (m) {
        return h("button", {class: "chip", type: "button", "data-minutes": m, "aria-pressed": "false", text: m + " min", onclick: function () {
          self.minutes = m; remember(self.scene, m); self.paintMinutes();
        }});
      }));
      self.startBtn = h("button", {class: "btn primary big", type: "button", id: "start", text: "Start", onclick: function () {
        self.begin(self.scene, self.minutes, self.startBtn);
      }});
      // one tap for the usual: last time's scene and length, with whoever is on the table now
      self.usualWords = h("span", {class: "usual-words"});
      self.usualBtn = h("button", {class: "btn primary big usual", type: "button", id: "start-usual", hidden: true, onclick: function () {
        var u = usual();
        if (u) self.begin(u.scene, u.minutes, self.usualBtn);
      }}, h("span", {text: "Start my usual"}), self.usualWords);
      self.endedText = h("p", {"data-testid": "ended-summary"});
      self.endedDid = h("p", {class: "muted small"});
      self.endedEnergy = h("p", {class: "muted small", "data-testid": "ended-energy", hidden: true});
      self.ended = h("div", {class: "card ended", hidden: true, "data-testid": "session-ended", role: "region", "aria-label": "Session ended"},
        h("div", {class: "row"}, h("h2", {class: "grow", text: "Session ended"}),
          h("button", {class: "btn small", type: "button", id: "end-ok", text: "OK", onclick: function () {
            try { localStorage.setItem("mh.ended", String(self.endedId)); } catch (e) { /* private mode */ }
            self.ended.hidden = true;
            self.journal.classList.add("parked");  // its questions wait in History
          }})),
        self.endedText, self.endedDid, self.endedEnergy);
      self.who = MH.people ? MH.people.picker() : null;  // profiles.js: "Who is on the table?"
      self.journal = MH.journal ? MH.journal.card() : null;  // ask.js: "and now?" once it has ended
      // ask.js: "how stressed are you now?" for each person picked, sent with Start
      self.before = MH.journal && self.who ? MH.journal.before() : null;
      if (self.before) self.who.onpick = function () { self.before.people(self.who.people()); };
      self.idle = h("div", {class: "card start-form"}, h("h2", {text: "Start a session"}), self.usualBtn, h("h3", {text: "Scene"}), self.sceneChips,
        h("h3", {text: "Length"}), self.minuteChips, self.who, self.before, self.startBtn);
      var svg = svgEl("svg", {viewBox: "0 0 220 220", class: "ring", "aria-hidden": "true"});
      svg.appendChild(svgEl("circle", {cx: 110, cy: 110, r: R, class: "bg"}));
      self.ringFg = svgEl("circle", {cx: 110, cy: 110, r: R, class: "fg", transform: "rotate(-90 110 110)", "stroke-dasharray": String(CIRC)});
      svg.appendChild(self.ringFg);
      self.timeText = svgEl("text", {x: 110, y: 118, "data-testid": "countdown"});
      self.subText = svgEl("text", {x: 110, y: 146, class: "sub"});
      svg.appendChild(self.timeText); svg.appendChild(self.subText);
      self.phase = h("div", {class: "phase", "data-testid": "phase", role: "timer", "aria-live": "off"});
      self.temps = h("div", {class: "pad-temps", "data-testid": "pad-temps"});  // the pads' sensors, small
      self.pauseBtn = h("button", {class: "btn", type: "button", id: "pause", onclick: function () {
        var s = MH.state().session;
        api("POST", s && s.paused ? "/session/resume" : "/session/pause", {}).catch(function () {});
      }});
      self.extendBtn = h("button", {class: "btn", type: "button", id: "extend", text: "+10 min", onclick: function () {
        api("POST", "/session/extend", {minutes: 10}).then(function () { toast("10 minutes added.", true); }, function () {});
      }});
      self.stopBtn = h("button", {class: "btn danger", type: "button", id: "stop", onclick: function () { api("DELETE", "/session").catch(function () {}); }});
      // the dim look (Settings has it too), at hand when the room goes dark
      self.dimBtn = h("button", {class: "btn", type: "button", id: "dim-now", text: "Dim", "aria-label": "Dim screen", onclick: function () {
        MH.setDim(!document.documentElement.classList.contains("dim"));
      }});
      self.limits = MH.people ? MH.people.limits() : null;  // profiles.js: whose limits hold now
      self.running = h("div", {class: "card session", hidden: true, "data-testid": "running"},
        h("div", {class: "ring-wrap"}, h("div", {class: "scene-name", "data-testid": "session-scene"}), svg, h("div", null, self.phase, self.temps)),
        // the buttons right under the ring: whose limits hold (a few lines) comes after Stop
        h("div", {class: "row controls"}, self.pauseBtn, self.extendBtn, self.dimBtn, h("span", {class: "grow"}), self.stopBtn),
        self.limits);
      self.devices = h("ul", {class: "dev-list", "data-testid": "device-summary"});
      self.room = MH.vroom();
      [self.banner, self.ended, self.journal, self.routineRun, self.routineNext, self.idle, self.running, self.room,
        h("div", {class: "card"}, h("h2", {class: "sub", text: "Devices"}), self.devices)].forEach(function (x) { if (x) el.appendChild(x); });
      self.paintMinutes();
      self.scenes(MH.scenes());
      document.addEventListener("visibilitychange", function () { var st = MH.state(); wake(!!(st && st.session)); });
    },
    show: function () { this.loadRoutines(); },
    begin: function (scene, minutes, btn) {
      var self = this;
      btn.disabled = true;
      var body = {scene: scene, minutes: minutes}, who = self.who && self.who.value(), before = self.before && self.before.value();
      if (who) body.profiles = who;
      if (before) body.before = before;  // in the start itself: nothing is lost if the phone then sleeps
      api("POST", "/session", body).then(function () {
        keepUsual(scene, minutes); toast("Session started.", true);
        if (self.before) self.before.clear(self.who.people());
      }, function () {})
        .finally(function () { btn.disabled = false; });
    },
    paintUsual: function (st) {
      var u = usual(), sc = u && MH.scenes().filter(function (x) { return x.id === u.scene; })[0];
      this.usualBtn.hidden = !sc;
      if (!sc) return;
      var people = (st.table && st.table.people) || [];
      this.usualWords.textContent = sc.name + " · " + u.minutes + " min" + (people.length ? " · " + whoWords(people, st) : "");
    },
    paintEnded: function (st) {
      var self = this, last = st.last_session, s = st.session, gone = null;
      try { gone = localStorage.getItem("mh.ended"); } catch (e) { /* private mode */ }
      // an hour on, the summary is old news (History keeps it)
      var fresh = last && (new Date(st.time) - new Date(last.ended_at)) < 3600 * 1000;
      var show = !s && fresh && String(last.id) !== gone;
      if (show && self.ended.hidden && self.wasRunning) { window.scrollTo(0, 0); MH.hideToast(); }  // the words, in view
      self.ended.hidden = !show;
      // once the summary is put away, so are its "after" questions: History still asks them
      if (self.journal) self.journal.classList.toggle("parked", !s && !!last && String(last.id) === gone);
      if (!show) return;
      self.endedId = last.id;
      var how = last.in_warm_up ? "stopped in the warm-up, before the massage began (" + Math.round(last.planned_minutes) + " min planned)"
        : Math.round(last.actual_minutes) + " min of " + Math.round(last.planned_minutes) + ", " +
          ({completed: "finished", stopped: "stopped early"}[last.end_reason] || MH.reason(last.end_reason).toLowerCase());
      var who = (last.people || []).length ? " · for " + whoWords(last.people, st) : "";
      self.endedText.textContent = last.scene_name + " · " + how + who + ".";
      var sc = MH.scenes().filter(function (x) { return x.id === last.scene; })[0];
      self.endedDid.textContent = didWords(sc, last.in_warm_up);
      var energy = MH.fmt.energy(last.energy_kwh, last.energy_cost, last.energy_currency);
      self.endedEnergy.textContent = energy ? "Energy: " + energy : "";
      self.endedEnergy.hidden = !energy;
    },
    paintMinutes: function () {
      var m = this.minutes;
      this.minuteChips.querySelectorAll(".chip").forEach(function (c) { MH.press(c, +c.dataset.minutes === m); });
    },
    scenes: function (list) {
      var self = this;
      if (!list.length) return;
      var chosen = list.filter(function (s) { return s.id === self.scene; })[0];
      if (!chosen) {
        var u = usual();
        chosen = list.filter(function (s) { return u && s.id === u.scene; })[0] || list.filter(function (s) { return s.id === "swedish"; })[0] || list[0];
        self.scene = chosen.id; self.minutes = remembered(chosen); self.paintMinutes();
      }
      self.sceneChips.textContent = "";
      list.forEach(function (s) {
        var b = h("button", {class: "chip", type: "button", "data-scene": s.id, text: s.name, onclick: function () {
          self.scene = s.id; self.minutes = remembered(s); self.paintMinutes(); self.scenes(list);
        }});
        MH.press(b, s.id === self.scene);
        self.sceneChips.appendChild(b);
      });
    },
    loadRoutines: function (fresh) {
      var self = this;
      if (!fresh && Date.now() - (self.routinesAt || 0) < 2000) return;  // just asked
      self.routinesAt = Date.now();
      api("GET", "/routines", undefined, {quiet: true}).then(function (d) { self.paintRoutines(d.routines); }, function () {});
    },
    paintRoutines: function (list) {
      var self = this, run = list.filter(function (r) { return r.running; })[0];
      self.routineRun.textContent = "";
      self.routineRun.hidden = !run;
      if (run) {
        self.routineRun.appendChild(h("div", {class: "row"},
          h("div", {class: "grow"}, h("strong", {text: run.name + " is running"}),
            h("div", {class: "muted", text: MH.routineWords ? MH.routineWords(run.action) : ""})),
          h("button", {class: "btn danger", type: "button", id: "stop-routine", text: "Stop", "aria-label": "Stop " + run.name,
            onclick: function () {
              api("POST", "/routines/" + encodeURIComponent(run.id) + "/stop", {}).then(function () {
                toast(run.name + " stopped.", true); self.loadRoutines(true);
              }, function () {});
            }})));
      }
    },
    paintNext: function (st) {
      var self = this, n = st.next_routine, el = self.routineNext;
      var key = JSON.stringify(n);
      if (key === self.nextKey) return;
      self.nextKey = key;
      el.textContent = "";
      el.hidden = !n;
      if (!n) return;
      var when = MH.fmt.relative(n.at, st.time);
      var url = "/routines/" + encodeURIComponent(n.id) + "/skip-next";
      if (n.skipped) {  // one skip at a time: offer to take it back, not a second Skip
        var was = MH.fmt.relative(n.skipped, st.time);
        el.appendChild(h("span", {class: "grow", text: n.name + " " + when + " (skipped " + was + ")"}));
        el.appendChild(h("button", {class: "btn small", type: "button", id: "unskip-routine", text: "Undo skip", "aria-label": "Run " + n.name + " " + was + " after all",
          onclick: function () { api("POST", url, {skip: false}).then(function () { toast(n.name + " runs " + was + " after all.", true); }, function () {}); }}));
        return;
      }
      el.appendChild(h("span", {class: "grow", text: n.name + " " + when}));
      el.appendChild(h("button", {class: "btn small", type: "button", id: "skip-next-routine", text: "Skip", "aria-label": "Skip " + n.name + " " + when,
        onclick: function () {
          api("POST", url, {skip: true}).then(function () { toast(n.name + " skipped once.", true); }, function () {});
        }}));
    },
    update: function (st, type) {
      var self = this, s = st.session, intr = st.interrupted_session;
      if (type === "routines" || type === "all_off") self.loadRoutines(true);
      else if (type === "hello" || Date.now() - (self.routinesAt || 0) > 30000) self.loadRoutines();
      self.paintNext(st);
      self.paintBanner(s, intr);
      self.paintEnded(st);
      self.wasRunning = !!s;
      if (!s) self.paintUsual(st);
      if (s && self.running.hidden) window.scrollTo(0, 0);  // the ring and its buttons in view
      self.idle.hidden = !!s; self.running.hidden = !s;
      document.body.classList.toggle("in-session", !!s);
      wake(!!s);
      if (s) {
        MH.press(self.dimBtn, document.documentElement.classList.contains("dim"));
        self.running.querySelector(".scene-name").textContent = s.scene_name;
        self.pauseBtn.textContent = s.paused ? "Resume" : "Pause";
        self.pauseBtn.disabled = s.phase === "fade_out";
        self.extendBtn.disabled = s.phase === "fade_out";
        self.stopBtn.textContent = s.phase === "fade_out" ? "End now" : "Stop";
      }
      self.room.hidden = st.backend !== "mock";
      self.room.update(st);
      if (self.journal) self.journal.update(st);
      if (self.limits) self.limits.update(st);
      if (self.who && !s) self.who.update(st);
      self.tick(st);
    },
    paintBanner: function (s, intr) {
      var self = this;
      var key = intr && !s ? intr.id : null;
      if (key === self.bannerKey) return;
      self.bannerKey = key;
      self.banner.textContent = "";
      self.banner.hidden = !key;
      if (!key) return;
      var left = intr.minutes_left;
      if (!left && intr.started_at && intr.ended_at) left = intr.planned_minutes - (new Date(intr.ended_at) - new Date(intr.started_at)) / 60000;
      if (!(left >= 1)) left = intr.planned_minutes;
      self.banner.appendChild(h("p", {text: "A session was interrupted (power cut or crash)" + (intr.scene_name ? ": " + intr.scene_name : "") + ". Heat stays off until you start again."}));
      self.banner.appendChild(h("div", {class: "row"},
        h("button", {class: "btn primary", type: "button", id: "restart", text: "Start again", onclick: function () {
          var body = {scene: intr.scene};
          if (left) body.minutes = Math.max(1, Math.min(480, Math.round(left)));
          if (MH.people && intr.people && intr.people.length) body.profiles = MH.people.spec(intr.people);  // same limits
          api("POST", "/session", body).then(function () { toast("Session started again.", true); }, function () {});
        }}),
        h("button", {class: "btn", type: "button", id: "dismiss", text: "Dismiss", onclick: function () { api("DELETE", "/interrupted").catch(function () {}); }})));
    },
    tick: function (st) {
      var self = this, s = st.session;
      var items = self.devices.children, ids = Object.keys(st.devices);
      if (items.length !== ids.length) {
        self.devices.textContent = "";
        ids.forEach(function (k) { self.devices.appendChild(h("li", {"data-device": k}, h("span", {text: st.devices[k].name}), h("span", {class: "value"}))); });
      }
      ids.forEach(function (k, i) { self.devices.children[i].querySelector(".value").textContent = MH.describe(st.devices[k]); });
      if (!s) return;
      self.temps.textContent = MH.padTemps(st);
      var frozen = s.paused, phaseLeft = MH.left(s.phase_remaining_seconds, frozen), total = Math.max(1, s.minutes * 60);
      var label, time, sub, frac;
      if (s.phase === "prepare") {
        label = frozen ? "Paused · warm-up on hold" : "Warming the table · session starts in " + clock(phaseLeft);
        time = Math.round(s.minutes) + " min"; sub = "after warm-up"; frac = 1;
      } else if (s.phase === "fade_out") {
        label = "Fading out"; time = clock(phaseLeft); sub = "fading out"; frac = 0;
      } else {
        var left = MH.left(s.remaining_seconds, frozen);
        label = frozen ? "Paused" : "In session"; time = clock(left); sub = "left"; frac = Math.min(1, left / total);
      }
      self.phase.textContent = label;
      self.timeText.textContent = time;
      self.subText.textContent = sub;
      self.ringFg.setAttribute("stroke-dashoffset", String(CIRC * (1 - frac)));
    }
  });
})();
