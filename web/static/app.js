/* massage-hub web UI: plain JS, no build step. Pages register with MH.page(id, {...}):
 *   mount(el)       build the page's DOM once (el is its <section>)
 *   update(state)   show a new hub state (called on every SSE event while visible)
 *   show()          optional: called each time the page is opened
 * Extra pages (e.g. routines.js) call MH.page before start.js runs MH.start(). */
var MH = (function () {
  "use strict";
  var extensions = {sceneEditor: [], settings: []};
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  // the choices the hub knows (heat levels, diffuser modes), rendered from hub/facts.py
  var factsEl = document.getElementById("facts");
  var facts = factsEl ? JSON.parse(factsEl.textContent) : {heat_levels: [], diffuser_modes: []};
  var pages = {}, mounted = {}, current = null;
  var state = null, stateAt = 0, scenes = [], es = null;

  function h(tag, attrs) {
    var el = document.createElement(tag);
    attrs = attrs || {};
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") el.textContent = v;
      else if (k === "class") el.className = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else if (k === "value") el.value = v;
      else el.setAttribute(k, v === true ? "" : v);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      if (Array.isArray(c)) c.forEach(function (x) { if (x) el.appendChild(typeof x === "string" ? document.createTextNode(x) : x); });
      else el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }

  function toast(msg, ok) {
    var t = document.getElementById("toast");
    t.textContent = msg;
    t.className = "toast" + (ok ? " ok" : "");
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, ok ? 2500 : 6000);
  }

  function api(method, path, body) {
    var opts = {method: method, credentials: "same-origin", headers: {"X-CSRF-Token": csrf}};
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch("/api/v1" + path, opts).then(function (r) {
      if (r.status === 401) { location.href = "/login"; throw new Error("not logged in"); }
      if (r.status === 204) return null;
      return r.json().catch(function () { return null; }).then(function (data) {
        if (!r.ok) {
          var msg = data && data.error ? data.error.message : "error " + r.status;
          toast(msg);
          var err = new Error(msg); err.status = r.status; err.body = data;
          throw err;
        }
        return data;
      });
    }, function (e) { toast("The hub does not answer."); throw e; });
  }

  function page(id, def) { pages[id] = def; if (current === id) route(); }

  function route() {
    var id = (location.hash || "#now").slice(1) || "now";
    if (!document.getElementById("page-" + id)) id = "now";
    current = id;
    document.querySelectorAll(".page").forEach(function (s) { s.hidden = s.dataset.page !== id; });
    document.querySelectorAll(".tabs a").forEach(function (a) { a.classList.toggle("on", a.dataset.page === id); });
    window.scrollTo(0, 0);
    var def = pages[id];
    if (!def) return;
    var el = document.getElementById("page-" + id);
    if (!mounted[id]) { mounted[id] = true; def.mount(el); }
    if (def.show) def.show();
    if (state && def.update) def.update(state);
  }

  function setState(s) {
    state = s; stateAt = Date.now();
    var def = pages[current];
    if (def && def.update && mounted[current]) def.update(s);
  }

  function loadScenes() {
    return api("GET", "/scenes").then(function (d) {
      scenes = d.scenes;
      var def = pages[current];
      if (def && def.scenes && mounted[current]) def.scenes(scenes);
      Object.keys(pages).forEach(function (k) { if (k !== current && pages[k].scenes && mounted[k]) pages[k].scenes(scenes); });
    });
  }

  function connect() {
    var conn = document.getElementById("conn");
    es = new EventSource("/api/v1/events");
    es.addEventListener("state", function (e) {
      var ev = JSON.parse(e.data);
      setState(ev.state);
      if (ev.type === "scenes") loadScenes();
    });
    es.onopen = function () { conn.classList.add("live"); conn.title = "live"; };
    es.onerror = function () {
      conn.classList.remove("live"); conn.title = "reconnecting";
      if (es.readyState === 2) {  // closed for good: maybe logged out
        fetch("/api/v1/auth", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (a) {
          if (!a.authenticated) location.href = "/login"; else setTimeout(connect, 3000);
        }, function () { setTimeout(connect, 3000); });
      }
    };
  }

  function start() {
    document.getElementById("all-off").addEventListener("click", function () {
      api("POST", "/all-off").then(function (s) { setState(s); toast("Everything is off.", true); });
    });
    window.addEventListener("hashchange", route);
    route();
    api("GET", "/state").then(setState);
    loadScenes();
    connect();
    setInterval(function () { var def = pages[current]; if (def && def.tick && state) def.tick(state); }, 1000);
  }

  // --- formatting ---------------------------------------------------------------------------
  function clock(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    return (h ? h + ":" + (m < 10 ? "0" : "") : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }
  function pct(level) { return Math.round(level * 100) + " %"; }
  function describe(d) {
    if (d.kind === "light") return d.level > 0 ? pct(d.level) : "off";
    if (d.kind === "diffuser") return d.mode === "interval" ? "interval" + (d.on ? " (misting)" : "") : d.mode;
    if (d.kind === "heat_pad") {
      if (d.locked_for_seconds) return "cooling down " + clock(d.locked_for_seconds);
      return d.heat === "off" ? "off" : d.heat + (d.off_in_seconds ? " · off in " + clock(d.off_in_seconds) : "");
    }
    if (d.kind === "speaker") return d.playing ? "playing " + (d.playlist || "") + " · " + Math.round(d.volume) : "quiet";
    return "";
  }
  function elapsed() { return (Date.now() - stateAt) / 1000; }
  function sessionLeft(s) { return s.paused ? s.remaining_seconds : Math.max(0, s.remaining_seconds - elapsed()); }
  function phaseLeft(s) { return s.paused ? s.phase_remaining_seconds : Math.max(0, s.phase_remaining_seconds - elapsed()); }

  // --- virtual room (simulated pins) ---------------------------------------------------------
  function vroom() {
    var glows = [h("div", {class: "glow g0"}), h("div", {class: "glow g1"})];
    var table = h("div", {class: "table"});
    var mist = h("div", {class: "mist"}, h("i"), h("i"), h("i"));
    var notes = h("div", {class: "notes", text: "♪ ♫"});
    var el = h("div", {class: "vroom", "aria-label": "virtual room", "data-testid": "vroom"},
      glows, h("div", {class: "diff"}), mist, table, notes, h("div", {class: "label", text: "virtual room"}));
    el.update = function (st) {
      var lights = [], pads = [], diff = null, spk = null;
      Object.keys(st.devices).forEach(function (k) {
        var d = st.devices[k];
        if (d.kind === "light") lights.push(d); else if (d.kind === "heat_pad") pads.push(d);
        else if (d.kind === "diffuser") diff = d; else if (d.kind === "speaker") spk = d;
      });
      glows.forEach(function (g, i) { g.style.opacity = lights[i] ? Math.min(1, Math.sqrt(lights[i].level) * 1.1) : 0; });
      el.dataset.light = lights.length ? lights[0].level : 0;
      var warm = pads.some(function (p) { return p.heat !== "off"; });
      table.classList.toggle("warm", warm); el.dataset.heat = warm ? "on" : "off";
      mist.classList.toggle("on", !!(diff && diff.on)); el.dataset.mist = diff && diff.on ? "on" : "off";
      notes.classList.toggle("on", !!(spk && spk.playing)); el.dataset.music = spk && spk.playing ? "on" : "off";
    };
    return el;
  }

  // --- Now ------------------------------------------------------------------------------------
  var MINUTES = [30, 45, 60, 75, 90, 120];
  page("now", {
    mount: function (el) {
      var self = this;
      self.scene = null; self.minutes = 60;
      self.banner = h("div", {class: "banner", hidden: true, "data-testid": "interrupted"});
      self.sceneChips = h("div", {class: "chips", "data-testid": "scene-chips"});
      self.minuteChips = h("div", {class: "chips"}, MINUTES.map(function (m) {
        return h("button", {class: "chip", type: "button", "data-minutes": m, text: m + " min", onclick: function () { self.minutes = m; self.paintMinutes(); }});
      }));
      self.startBtn = h("button", {class: "btn primary big", type: "button", id: "start", text: "Start", onclick: function () {
        self.startBtn.disabled = true;
        var body = {scene: self.scene, minutes: self.minutes}, who = self.who && self.who.value();
        if (who) body.profiles = who;
        api("POST", "/session", body).then(function () { toast("Session started.", true); })
          .finally(function () { self.startBtn.disabled = false; });
      }});
      self.who = MH.people ? MH.people.picker() : null;  // profiles.js: "Who is on the table?"
      self.journal = MH.journal ? MH.journal.card() : null;  // journal.js: one-tap stress, sleep
      self.idle = h("div", {class: "card"}, h("h2", {text: "Start a session"}), h("h3", {text: "Scene"}), self.sceneChips,
        h("h3", {text: "Length"}), self.minuteChips, self.who, self.startBtn);
      self.ringFg = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("viewBox", "0 0 220 220"); svg.setAttribute("class", "ring");
      var bg = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      [bg, self.ringFg].forEach(function (c, i) {
        c.setAttribute("cx", 110); c.setAttribute("cy", 110); c.setAttribute("r", 96);
        c.setAttribute("class", i ? "fg" : "bg"); svg.appendChild(c);
      });
      self.ringFg.setAttribute("transform", "rotate(-90 110 110)");
      self.ringFg.setAttribute("stroke-dasharray", String(2 * Math.PI * 96));
      self.timeText = document.createElementNS("http://www.w3.org/2000/svg", "text");
      self.timeText.setAttribute("x", 110); self.timeText.setAttribute("y", 118); self.timeText.setAttribute("data-testid", "countdown");
      self.subText = document.createElementNS("http://www.w3.org/2000/svg", "text");
      self.subText.setAttribute("x", 110); self.subText.setAttribute("y", 146); self.subText.setAttribute("class", "sub");
      svg.appendChild(self.timeText); svg.appendChild(self.subText);
      self.phase = h("div", {class: "phase", "data-testid": "phase"});
      self.pauseBtn = h("button", {class: "btn", type: "button", id: "pause", onclick: function () {
        api("POST", state.session.paused ? "/session/resume" : "/session/pause", {});
      }});
      self.extendBtn = h("button", {class: "btn", type: "button", id: "extend", text: "+10 min", onclick: function () {
        api("POST", "/session/extend", {minutes: 10}).then(function () { toast("10 minutes added.", true); });
      }});
      self.stopBtn = h("button", {class: "btn danger", type: "button", id: "stop", onclick: function () { api("DELETE", "/session"); }});
      self.limits = MH.people ? MH.people.limits() : null;  // profiles.js: whose limits hold now
      self.running = h("div", {class: "card", hidden: true, "data-testid": "running"},
        h("div", {class: "ring-wrap"}, h("div", {class: "scene-name", "data-testid": "session-scene"}), svg, self.phase), self.limits,
        h("div", {class: "row"}, self.pauseBtn, self.extendBtn, h("span", {class: "grow"}), self.stopBtn));
      self.devices = h("ul", {class: "dev-list", "data-testid": "device-summary"});
      self.room = vroom();
      el.appendChild(self.banner); if (self.journal) el.appendChild(self.journal);
      el.appendChild(self.idle); el.appendChild(self.running);
      el.appendChild(self.room); el.appendChild(h("div", {class: "card"}, h("h3", {text: "Devices"}), self.devices));
      self.paintMinutes();
      self.scenes(scenes);
    },
    paintMinutes: function () {
      var m = this.minutes;
      this.minuteChips.querySelectorAll(".chip").forEach(function (c) { c.classList.toggle("on", +c.dataset.minutes === m); });
    },
    scenes: function (list) {
      var self = this;
      if (!list.length) return;
      if (!self.scene || !list.some(function (s) { return s.id === self.scene; })) {
        self.scene = list.some(function (s) { return s.id === "swedish"; }) ? "swedish" : list[0].id;
      }
      self.sceneChips.textContent = "";
      list.forEach(function (s) {
        self.sceneChips.appendChild(h("button", {class: "chip" + (s.id === self.scene ? " on" : ""), type: "button", "data-scene": s.id, text: s.name,
          onclick: function () { self.scene = s.id; self.scenes(list); }}));
      });
    },
    update: function (st) {
      var self = this, s = st.session, intr = st.interrupted_session;
      self.banner.textContent = "";
      self.banner.hidden = !intr || !!s;
      if (intr && !s) {
        var left = intr.minutes_left;
        if (!left && intr.started_at && intr.ended_at) {  // what was planned, less the time it ran
          left = intr.planned_minutes - (new Date(intr.ended_at) - new Date(intr.started_at)) / 60000;
        }
        if (!(left >= 1)) left = intr.planned_minutes;
        self.banner.appendChild(h("p", {text: "A session was interrupted (power cut or crash)" + (intr.scene_name ? ": " + intr.scene_name : "") + ". Heat stays off until you start again."}));
        self.banner.appendChild(h("div", {class: "row"},
          h("button", {class: "btn primary", type: "button", id: "restart", text: "Start again", onclick: function () {
            var body = {scene: intr.scene};
            if (left) body.minutes = Math.max(1, Math.min(480, Math.round(left)));
            if (MH.people && intr.people && intr.people.length) body.profiles = MH.people.spec(intr.people);  // same limits
            api("POST", "/session", body).then(function () { toast("Session started again.", true); });
          }}),
          h("button", {class: "btn", type: "button", id: "dismiss", text: "Dismiss", onclick: function () { api("DELETE", "/interrupted"); }})));
      }
      self.idle.hidden = !!s; self.running.hidden = !s;
      if (s) {
        self.running.querySelector(".scene-name").textContent = s.scene_name;
        self.pauseBtn.textContent = s.paused ? "Resume" : "Pause";
        self.pauseBtn.disabled = s.phase === "fade_out";
        self.extendBtn.disabled = s.phase === "fade_out";
        self.stopBtn.textContent = s.phase === "fade_out" ? "End now" : "Stop";
        self.tick(st);
      }
      self.devices.textContent = "";
      Object.keys(st.devices).forEach(function (k) {
        var d = st.devices[k];
        self.devices.appendChild(h("li", {"data-device": k}, h("span", {text: d.name}), h("span", {class: "value", text: describe(d)})));
      });
      self.room.hidden = st.backend !== "mock";
      self.room.update(st);
      if (self.journal) self.journal.update(st);
      if (self.limits) self.limits.update(st);
    },
    tick: function (st) {
      var s = st.session;
      if (!s) return;
      var total = Math.max(1, s.minutes * 60), left = sessionLeft(s);
      var label = {prepare: "Pre-warming the pad", active: "In session", fade_out: "Fading out"}[s.phase] || s.phase;
      if (s.paused) label = "Paused";
      if (s.phase === "prepare") { label += " · starts in " + clock(phaseLeft(s)); left = total; }
      if (s.phase === "fade_out") left = phaseLeft(s);
      this.phase.textContent = label;
      this.timeText.textContent = clock(left);
      this.subText.textContent = s.phase === "fade_out" ? "fading out" : "left";
      var frac = s.phase === "fade_out" ? 0 : Math.min(1, left / total);
      this.ringFg.setAttribute("stroke-dashoffset", String(2 * Math.PI * 96 * (1 - frac)));
    }
  });

  // --- Room -----------------------------------------------------------------------------------
  var FADES = [0, 3, 10, 30];
  function seg(options, onpick) {
    var el = h("div", {class: "seg"});
    options.forEach(function (o) {
      el.appendChild(h("button", {type: "button", "data-value": o, text: o, onclick: function () { onpick(o); }}));
    });
    el.set = function (v) { el.querySelectorAll("button").forEach(function (b) { b.classList.toggle("on", b.dataset.value === String(v)); }); };
    return el;
  }
  function slider(min, max, step, onset) {
    var input = h("input", {type: "range", min: min, max: max, step: step});
    var busy = 0;
    input.addEventListener("input", function () { busy = Date.now(); if (input.onlive) input.onlive(+input.value); });
    input.addEventListener("change", function () { busy = Date.now(); onset(+input.value); });
    input.set = function (v) { if (Date.now() - busy > 1500) input.value = v; };
    return input;
  }
  page("room", {
    mount: function (el) {
      var self = this;
      self.controls = {};
      self.fade = 3;
      self.list = h("div", {class: "card", "data-testid": "room-controls"});
      var fadeSeg = seg(FADES.map(String), function (v) { self.fade = +v; fadeSeg.set(v); });
      fadeSeg.set("3");
      self.room = vroom();
      el.appendChild(self.room);
      el.appendChild(h("div", {class: "card"}, h("h3", {text: "Light fade (seconds)"}), fadeSeg));
      el.appendChild(self.list);
      el.appendChild(h("button", {class: "btn danger big", type: "button", id: "room-all-off", text: "All off", onclick: function () {
        api("POST", "/all-off").then(function (s) { setState(s); toast("Everything is off.", true); });
      }}));
    },
    build: function (st) {
      var self = this;
      self.list.textContent = "";
      self.controls = {};
      Object.keys(st.devices).forEach(function (id) {
        var d = st.devices[id], c = {}, value = h("span", {class: "value"});
        var box = h("div", {class: "control", "data-device": id}, h("div", {class: "head"}, h("span", {text: d.name}), value));
        var put = function (body) { return api("PUT", "/devices/" + encodeURIComponent(id), body); };
        if (d.kind === "light") {
          c.slider = slider(0, 100, 1, function (v) { put({level: v / 100, fade_seconds: self.fade}); });
          c.slider.onlive = function (v) { value.textContent = v + " %"; };
          box.appendChild(c.slider);
        } else if (d.kind === "diffuser") {
          c.seg = seg(facts.diffuser_modes, function (v) { put({mode: v}); });
          box.appendChild(c.seg);
        } else if (d.kind === "heat_pad") {
          c.minutes = h("select", {"aria-label": "minutes"}, [10, 20, 30, 45, 60].map(function (m) {
            return h("option", {value: m, text: "for " + m + " min", selected: m === 20});
          }));
          c.seg = seg(facts.heat_levels, function (v) {
            put(v === "off" ? {heat: "off"} : {heat: v, minutes: +c.minutes.value});
          });
          box.appendChild(c.seg); box.appendChild(c.minutes);
        } else if (d.kind === "speaker") {
          c.slider = slider(0, 100, 1, function (v) { put({volume: v, fade_seconds: 1}); });
          c.slider.onlive = function (v) { value.textContent = "volume " + v; };
          c.play = h("button", {class: "btn small", type: "button", onclick: function () { put({playing: !state.devices[id].playing}); }});
          c.next = h("button", {class: "btn small", type: "button", text: "Next track", onclick: function () { put({next: true}); }});
          c.playlist = h("input", {type: "text", placeholder: "playlist", "aria-label": "playlist", list: "playlists"});
          box.appendChild(h("datalist", {id: "playlists"}, (d.playlists || []).map(function (p) { return h("option", {value: p}); })));
          c.playlist.addEventListener("change", function () { if (c.playlist.value) put({playlist: c.playlist.value}); });
          box.appendChild(c.slider);
          box.appendChild(h("div", {class: "row"}, c.play, c.next, h("span", {class: "grow"}, c.playlist)));
        }
        c.value = value;
        self.controls[id] = c;
        self.list.appendChild(box);
      });
      self.built = Object.keys(st.devices).join(",");
    },
    update: function (st) {
      var self = this;
      if (self.built !== Object.keys(st.devices).join(",")) self.build(st);
      self.room.hidden = st.backend !== "mock";
      self.room.update(st);
      Object.keys(st.devices).forEach(function (id) {
        var d = st.devices[id], c = self.controls[id];
        if (!c) return;
        c.value.textContent = describe(d);
        if (d.kind === "light") c.slider.set(Math.round(d.level * 100));
        if (d.kind === "diffuser") c.seg.set(d.mode);
        if (d.kind === "heat_pad") c.seg.set(d.heat);
        if (d.kind === "speaker") {
          c.slider.set(Math.round(d.volume));
          c.play.textContent = d.playing ? "Pause music" : "Play";
          if (document.activeElement !== c.playlist) c.playlist.value = d.playlist || "";
        }
      });
    }
  });

  // --- Scenes ---------------------------------------------------------------------------------
  page("scenes", {
    mount: function (el) {
      var self = this;
      self.listEl = h("div");
      self.editor = h("div", {class: "card", hidden: true, "data-testid": "scene-editor"});
      el.appendChild(h("div", {class: "row"}, h("h2", {class: "grow", text: "Scenes"}),
        h("button", {class: "btn primary small", type: "button", id: "new-scene", text: "New scene", onclick: function () { self.edit(null); }})));
      el.appendChild(self.editor);
      el.appendChild(self.listEl);
      self.scenes(scenes);
    },
    scenes: function (list) {
      var self = this;
      self.listEl.textContent = "";
      list.forEach(function (s) {
        var actions = h("div", {class: "row"},
          h("button", {class: "btn small", type: "button", text: "Apply", onclick: function () { api("POST", "/scenes/" + s.id + "/apply", {}).then(function () { toast(s.name + " applied.", true); }); }}),
          h("button", {class: "btn small", type: "button", text: "Copy", onclick: function () { api("POST", "/scenes/" + s.id + "/duplicate", {}).then(function (c) { toast("Copied as " + c.name + ".", true); loadScenes(); }); }}),
          s.builtin ? null : h("button", {class: "btn small", type: "button", text: "Edit", onclick: function () { self.edit(s); }}),
          s.builtin ? null : h("button", {class: "btn small danger", type: "button", text: "Delete", onclick: function () {
            if (confirm("Delete the scene " + s.name + "?")) api("DELETE", "/scenes/" + s.id).then(function () { loadScenes(); });
          }}));
        self.listEl.appendChild(h("div", {class: "card scene", "data-scene": s.id},
          h("div", null, h("strong", {text: s.name}), s.builtin ? h("span", {class: "tag", text: "built in"}) : null),
          s.description ? h("div", {class: "muted", text: s.description}) : null, actions));
      });
    },
    edit: function (scene) {
      var self = this, ed = self.editor, st = state || {devices: {}};
      var s = scene || {name: "", description: "", lights: {}, diffuser: "off", heat: {}, playlist: "", volume: 30, fade_seconds: 10, fade_out_seconds: 60};
      ed.textContent = ""; ed.hidden = false;
      var f = {};
      function field(label, input) { ed.appendChild(h("label", null, label, input)); return input; }
      ed.appendChild(h("h2", {text: scene ? "Edit " + scene.name : "New scene"}));
      f.name = field("Name", h("input", {type: "text", maxlength: 40, value: s.name, id: "scene-name"}));
      f.description = field("Description", h("input", {type: "text", maxlength: 200, value: s.description || ""}));
      f.lights = {}; f.heat = {};
      Object.keys(st.devices).forEach(function (id) {
        var d = st.devices[id];
        if (d.kind === "light") {
          var lv = s.lights[id] !== undefined ? s.lights[id] : (s.lights["*"] || 0);
          f.lights[id] = field(d.name + " (light %)", h("input", {type: "number", min: 0, max: 100, step: 1, value: Math.round(lv * 100)}));
        } else if (d.kind === "heat_pad") {
          var hv = s.heat[id] || s.heat["*"] || "off";
          f.heat[id] = field(d.name + " (heat)", h("select", null, facts.heat_levels.map(function (x) { return h("option", {value: x, text: x, selected: x === hv}); })));
        }
      });
      f.diffuser = field("Diffuser", h("select", null, facts.diffuser_modes.map(function (x) { return h("option", {value: x, text: x, selected: x === s.diffuser}); })));
      f.playlist = field("Playlist", h("input", {type: "text", maxlength: 80, value: s.playlist || ""}));
      f.volume = field("Volume (0-100)", h("input", {type: "number", min: 0, max: 100, step: 1, value: s.volume}));
      f.fade = field("Fade in (seconds)", h("input", {type: "number", min: 0, max: 3600, step: 1, value: s.fade_seconds}));
      f.fadeOut = field("Fade out (seconds)", h("input", {type: "number", min: 0, max: 3600, step: 1, value: s.fade_out_seconds}));
      var extra = extensions.sceneEditor.map(function (fn) { return fn(ed, s); });  // e.g. visits.js: cues
      ed.appendChild(h("div", {class: "row"},
        h("button", {class: "btn primary", type: "button", id: "save-scene", text: "Save", onclick: function () {
          var body = {name: f.name.value.trim(), description: f.description.value, lights: {}, heat: {}, diffuser: f.diffuser.value,
            playlist: f.playlist.value.trim() || null, volume: +f.volume.value, fade_seconds: +f.fade.value, fade_out_seconds: +f.fadeOut.value};
          Object.keys(f.lights).forEach(function (id) { body.lights[id] = (+f.lights[id].value) / 100; });
          Object.keys(f.heat).forEach(function (id) { body.heat[id] = f.heat[id].value; });
          extra.forEach(function (add) { if (add) add(body); });
          var req = scene ? api("PUT", "/scenes/" + scene.id, Object.assign({id: scene.id}, body)) : api("POST", "/scenes", body);
          req.then(function () { ed.hidden = true; toast("Scene saved.", true); loadScenes(); });
        }}),
        h("button", {class: "btn", type: "button", text: "Cancel", onclick: function () { ed.hidden = true; }})));
      ed.scrollIntoView({behavior: "smooth"});
    }
  });

  // --- History --------------------------------------------------------------------------------
  page("history", {
    mount: function (el) {
      var self = this;
      self.body = h("tbody");
      self.offset = 0;
      self.more = h("button", {class: "btn small", type: "button", text: "More", onclick: function () { self.load(false); }});
      el.appendChild(h("div", {class: "card"}, h("h2", {text: "Past sessions"}),
        h("table", {"data-testid": "history"}, h("thead", null, h("tr", null, h("th", {text: "When"}), h("th", {text: "Scene"}), h("th", {text: "Minutes"}), h("th", {text: "End"}), h("th", {text: "Who"}))), self.body),
        self.more));
    },
    show: function () { this.load(true); },
    load: function (fresh) {
      var self = this;
      if (fresh) self.offset = 0;
      api("GET", "/history?limit=25&offset=" + self.offset).then(function (d) {
        if (fresh) self.body.textContent = "";
        d.sessions.forEach(function (r) {
          var when = new Date(r.started_at);
          self.body.appendChild(h("tr", null,
            h("td", {text: when.toLocaleDateString([], {month: "short", day: "numeric"}) + " " + when.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"})}),
            h("td", {text: r.scene_name + (r.by ? " · by " + r.by : "")}),
            h("td", {text: (r.actual_minutes !== null ? Math.round(r.actual_minutes) : "…") + " / " + Math.round(r.planned_minutes)}),
            h("td", {text: r.end_reason || "running"}),
            h("td", null, MH.people ? MH.people.who(r) : "")));
        });
        if (!d.sessions.length && fresh) self.body.appendChild(h("tr", null, h("td", {colspan: 5, class: "muted", text: "No sessions yet."})));
        self.offset += d.sessions.length;
        self.more.hidden = d.sessions.length < d.limit;
      });
    }
  });

  // --- Settings -------------------------------------------------------------------------------
  var settingsCards = [];  // cards other scripts add with MH.settingsCard({mount, show})
  page("settings", {
    mount: function (el) {
      var self = this;
      var cur = h("input", {type: "password", autocomplete: "current-password", id: "pw-current"});
      var nw = h("input", {type: "password", autocomplete: "new-password", minlength: 8, id: "pw-new"});
      el.appendChild(h("div", {class: "card"}, h("h2", {text: "Password"}),
        h("label", null, "Current password", cur), h("label", null, "New password (8 or more characters)", nw),
        h("p", null, h("button", {class: "btn primary", type: "button", text: "Change password", onclick: function () {
          api("PUT", "/password", {current: cur.value, new: nw.value}).then(function (r) {
            if (r && r.csrf_token) csrf = r.csrf_token;
            cur.value = nw.value = ""; toast("Password changed.", true);
          });
        }}))));
      self.tokens = h("tbody");
      self.newToken = h("div", {hidden: true});
      var name = h("input", {type: "text", maxlength: 60, placeholder: "e.g. phone shortcut", id: "token-name"});
      el.appendChild(h("div", {class: "card"}, h("h2", {text: "API tokens"}),
        h("p", {class: "muted", text: "For scripts and shortcuts: send Authorization: Bearer <token>."}),
        h("table", null, self.tokens),
        h("label", null, "New token's name", name),
        h("p", null, h("button", {class: "btn", type: "button", id: "create-token", text: "Create token", onclick: function () {
          api("POST", "/tokens", {name: name.value.trim()}).then(function (t) {
            name.value = "";
            self.newToken.textContent = "";
            self.newToken.appendChild(h("p", {text: "Copy it now; it will not be shown again:"}));
            self.newToken.appendChild(h("div", {class: "token", "data-testid": "new-token", text: t.token}));
            self.newToken.hidden = false;
            self.loadTokens();
          });
        }})), self.newToken));
      extensions.settings.forEach(function (fn) { fn(el); });  // e.g. visits.js: visits, backup
      self.about = h("ul", {class: "dev-list"});
      el.appendChild(h("div", {class: "card"}, h("h2", {text: "This hub"}), self.about,
        h("p", null, h("button", {class: "btn", type: "button", text: "Log out", onclick: function () {
          api("POST", "/logout", {}).then(function () { location.href = "/login"; });
        }}))));
      settingsCards.forEach(function (c) { c.mount(el); });
    },
    show: function () { this.loadTokens(); settingsCards.forEach(function (c) { if (c.show) c.show(); }); },
    loadTokens: function () {
      var self = this;
      api("GET", "/tokens").then(function (d) {
        self.tokens.textContent = "";
        d.tokens.forEach(function (t) {
          self.tokens.appendChild(h("tr", null, h("td", {text: t.name}),
            h("td", {class: "muted", text: t.last_used_at ? "used " + t.last_used_at.slice(0, 10) : "never used"}),
            h("td", null, h("button", {class: "btn small", type: "button", text: "Revoke", onclick: function () {
              if (confirm("Revoke " + t.name + "?")) api("DELETE", "/tokens/" + t.id).then(function () { self.loadTokens(); });
            }}))));
        });
        if (!d.tokens.length) self.tokens.appendChild(h("tr", null, h("td", {class: "muted", text: "No tokens."})));
      });
    },
    update: function (st) {
      var rows = [["Version", st.version], ["Hardware", st.backend === "mock" ? "simulated pins" : "GPIO"], ["Audio", st.audio || "none"], ["Time", st.time]];
      this.about.textContent = "";
      var ul = this.about;
      rows.forEach(function (r) { ul.appendChild(h("li", null, h("span", {text: r[0]}), h("span", {class: "value", text: r[1]}))); });
    }
  });

  // other scripts add to the scene editor and to Settings: MH.extend("settings", fn(el))
  function extend(where, fn) { extensions[where].push(fn); }

  return {page: page, settingsCard: function (c) { settingsCards.push(c); }, api: api, extend: extend, csrf: function () { return csrf; }, h: h, toast: toast, start: start, clock: clock, describe: describe,
    facts: facts, state: function () { return state; }, scenes: function () { return scenes; }, loadScenes: loadScenes};
})();
