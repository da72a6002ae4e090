/* The therapist's page (a guest link's view): the session, the room, cues, the client panel.
 * Stands alone (no app.js): it reaches only what a guest may (web/guests.py). */
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var state = null, stateAt = 0, scenes = [], built = false;
  function $(id) { return document.getElementById(id); }

  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (k === "text") el.textContent = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else if (v !== false && v !== null && v !== undefined) el.setAttribute(k, v === true ? "" : v);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }

  function toast(msg, ok) {
    var t = $("toast");
    t.textContent = msg; t.className = "toast" + (ok ? " ok" : ""); t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, ok ? 2500 : 6000);
  }

  function ended() { location.href = "/guest-ended"; }

  // the API says "field: what is wrong (got ...)": a person reads the middle, as a sentence
  function words(msg, status) {
    msg = (msg || "").replace(/^[a-z_]+:\s*/i, "").replace(/\s*\(got [^)]*\)/g, "");
    if (!msg) return status >= 500 ? "The hub had a problem. Try again in a moment." : "That did not work. Try again.";
    msg = msg.charAt(0).toUpperCase() + msg.slice(1);
    return /[.!?]$/.test(msg) ? msg : msg + ".";
  }
  var AREA = {upper_back: "upper back", lower_back: "lower back"};  // others are one word

  function api(method, path, body) {
    var opts = {method: method, credentials: "same-origin", headers: {"X-CSRF-Token": csrf}};
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch("/api/v1" + path, opts).then(function (r) {
      if (r.status === 401) { ended(); throw new Error("ended"); }
      if (r.status === 204) return null;
      return r.json().catch(function () { return null; }).then(function (d) {
        if (!r.ok) { var m = words(d && d.error ? d.error.message : "", r.status); toast(m); throw new Error(m); }
        return d;
      });
    }, function (e) { toast("The hub does not answer."); throw e; })
      .catch(function () { return new Promise(function () {}); });  // shown already: stop here
  }

  function clock(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function cue(text) {
    var el = $("cue");
    el.textContent = text; el.hidden = false;
    el.classList.remove("flash"); void el.offsetWidth; el.classList.add("flash");
    if (navigator.vibrate) { try { navigator.vibrate([200, 100, 200]); } catch (e) { /* not allowed */ } }
    clearTimeout(cue.timer);
    cue.timer = setTimeout(function () { el.hidden = true; }, 20000);
  }

  function showSession() {
    var s = state && state.session;
    var running = !!s && (s.phase === "prepare" || s.phase === "active");
    $("t-start").hidden = !!s;
    $("t-running").hidden = !running;
    if (!s) { $("t-status").textContent = "No session running."; $("t-countdown").textContent = ""; }
    else {
      var left = s.paused ? s.remaining_seconds : Math.max(0, s.remaining_seconds - (Date.now() - stateAt) / 1000);
      $("t-status").textContent = s.scene_name + " · " + (s.paused ? "paused" : s.phase.replace("_", " "));
      $("t-countdown").textContent = clock(left) + " left";
      $("t-pause").textContent = s.paused ? "Resume" : "Pause";
    }
    var list = $("t-cues"); list.textContent = "";
    var cues = state && state.cues;
    if (cues && cues.upcoming) cues.upcoming.forEach(function (c) {
      list.appendChild(h("li", {text: c.text + " at " + clock(c.at_minutes * 60)}));
    });
  }

  function buildRoom() {
    var box = $("t-devices"); box.textContent = "";
    Object.keys(state.devices).forEach(function (id) {
      var d = state.devices[id];
      var put = function (body) {
        return api("PUT", "/devices/" + encodeURIComponent(id), body).then(function (r) {
          if (r && r.capped) {  // a client's limit held it back: say so, show where it is
            toast(r.capped.charAt(0).toUpperCase() + r.capped.slice(1) + ".");
            var el = document.querySelector('#t-devices [data-device="' + id + '"]'), to = r.fading_to || {};
            if (el && r.kind === "speaker") el.value = Math.round(to.volume !== undefined ? to.volume : r.volume);
          }
          return r;
        });
      };
      if (d.kind === "light") {
        var r = h("input", {type: "range", min: 0, max: 100, step: 1, value: Math.round(d.level * 100), "data-device": id,
          onchange: function () { put({level: r.value / 100, fade_seconds: 1}); }});
        box.appendChild(h("label", null, d.name + " (light)", r));
      } else if (d.kind === "diffuser") {
        var sel = h("select", {"data-device": id, onchange: function () {
          put({mode: sel.value});
          // a refused mode (a client's no-aroma limit) must not stay shown as chosen
          setTimeout(function () { if (state.devices[id]) sel.value = state.devices[id].mode; }, 600);
        }});
        ["off", "on", "interval"].forEach(function (m) { sel.appendChild(h("option", {value: m, text: m, selected: d.mode === m})); });
        box.appendChild(h("label", null, d.name + " (aroma mist)", sel));
      } else if (d.kind === "speaker") {
        var v = h("input", {type: "range", min: 0, max: 100, step: 1, value: Math.round(d.volume), "data-device": id,
          onchange: function () { put({volume: +v.value, fade_seconds: 1}); }});
        box.appendChild(h("label", null, d.name + " (music volume)", v));
        box.appendChild(h("button", {class: "btn small", type: "button", text: "Play / pause music", onclick: function () {
          put({playing: !state.devices[id].playing});
        }}));
      }
    });
    built = true;
  }

  // a pad's fault: the hub keeps it off; a guest link may not allow heat again, the owner does
  var faultsShown = "";
  function showFaults(s) {
    var box = $("faults"), ids = Object.keys(s.devices).filter(function (k) { return s.devices[k].kind === "heat_pad" && s.devices[k].fault; });
    var key = JSON.stringify(ids.map(function (k) { return s.devices[k].fault; }));
    if (key === faultsShown) return;
    faultsShown = key; box.textContent = ""; box.hidden = !ids.length;
    ids.forEach(function (k) {
      var d = s.devices[k], f = d.fault;
      box.appendChild(h("div", {class: "fault", "data-fault": f.kind},
        h("strong", {class: "fault-head", text: d.name + " is off and will not heat until it is checked"}),
        f.kind === "stuck_relay" ? h("p", {class: "fault-unplug", text: "Unplug " + d.name + " now."}) : null,
        h("p", {text: f.message}),
        h("p", {text: "Once it is checked, the owner allows heat again from the hub's app."})));
    });
  }

  function setState(s) {
    state = s; stateAt = Date.now();
    showFaults(s);
    if (!built) buildRoom();
    document.querySelectorAll("#t-devices [data-device]").forEach(function (el) {
      var d = s.devices[el.dataset.device];
      if (!d || el === document.activeElement) return;  // never under a finger
      if (d.kind === "light") el.value = Math.round(100 * (d.fading_to && d.fading_to.level !== undefined ? d.fading_to.level : d.level));
      else if (d.kind === "speaker") el.value = Math.round(d.fading_to && d.fading_to.volume !== undefined ? d.fading_to.volume : d.volume);
      else if (d.kind === "diffuser") el.value = d.mode;
    });
    var t = s.table || {}, lim = $("t-limits");
    lim.hidden = !t.limits_words;
    lim.textContent = t.limits_words ? "Limits in force: " + t.limits_words + "." : "";
    showSession();
  }

  // the journal's "before", asked while the client still sits up; sent with Start
  var before = {};
  function showBefore(list) {
    var box = $("t-before");
    box.hidden = !list.length;
    if (!list.length) return;
    box.appendChild(h("h3", {text: "Before they lie down (optional)"}));
    list.forEach(function (p) {
      var q = p.name + ": how stressed are you now?", scale = h("div", {class: "scale", role: "group", "aria-label": q});
      for (var n = 0; n <= 10; n++) {
        scale.appendChild(h("button", {class: "chip num", type: "button", "data-value": n, "aria-pressed": "false", text: String(n), onclick: function () {
          var v = +this.dataset.value;
          if (before[p.id] === v) delete before[p.id]; else before[p.id] = v;
          scale.querySelectorAll("button").forEach(function (b) {
            var on = before[p.id] === +b.dataset.value;
            b.setAttribute("aria-pressed", on ? "true" : "false"); b.classList.toggle("on", on);
          });
        }}));
      }
      box.appendChild(h("div", {class: "ask", "data-ask": "before", "data-person": p.id},
        h("p", {class: "q", text: q}), scale, h("p", {class: "muted small", text: "0 = calm, 10 = very stressed"})));
    });
  }

  function showClients(list) {
    var box = $("t-client-list");
    showBefore(list);
    if (!list.length) return;
    box.textContent = "";
    list.forEach(function (p) {
      var limits = [];
      if (p.heat_max) limits.push("heat at most " + p.heat_max);
      if (p.aroma === false) limits.push("no aroma");
      if (p.volume_max !== undefined && p.volume_max !== null) limits.push("volume at most " + p.volume_max);
      box.appendChild(h("div", {class: "client", "data-profile": p.id},
        h("strong", {text: p.name}),
        p.areas && p.areas.length ? h("p", {text: "Areas of concern: " + p.areas.map(function (a) { return AREA[a] || a; }).join(", ")}) : null,
        limits.length ? h("p", {text: "Limits: " + limits.join("; ")}) : null,
        p.notes ? h("p", {class: "muted", text: p.notes}) : null));
    });
  }

  function connect() {
    var conn = $("conn");
    var es = new EventSource("/api/v1/events");
    es.addEventListener("state", function (e) {
      var ev = JSON.parse(e.data);
      if (ev.type === "cue") cue(ev.data.text);
      setState(ev.state);
    });
    es.onopen = function () { conn.classList.add("live"); conn.textContent = "Live"; };
    es.onerror = function () {
      conn.classList.remove("live"); conn.textContent = "Reconnecting";
      fetch("/api/v1/auth", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (a) {
        if (!a.authenticated) ended(); else if (es.readyState === 2) setTimeout(connect, 3000);
      }, function () { if (es.readyState === 2) setTimeout(connect, 3000); });
    };
  }

  function start() {
    api("GET", "/guest").then(function (g) {
      $("visit").textContent = "Hello " + g.name + " — this link works until " + g.expires_at.slice(11, 16) + ".";
      showClients(g.clients);
    });
    api("GET", "/scenes").then(function (d) {
      scenes = d.scenes;
      var sel = $("t-scene");
      scenes.forEach(function (s) { sel.appendChild(h("option", {value: s.id, text: s.name, selected: s.id === "swedish"})); });
      var pick = function () {
        var s = scenes.filter(function (x) { return x.id === sel.value; })[0];
        $("t-minutes").value = (s && s.default_minutes) || 60;
      };
      sel.addEventListener("change", pick); pick();
    });
    $("t-go").addEventListener("click", function () {
      var minutes = +$("t-minutes").value;
      if (!(minutes >= 1 && minutes <= 480)) { toast("Choose a length from 1 to 480 minutes."); $("t-minutes").focus(); return; }
      var body = {scene: $("t-scene").value, minutes: minutes}, rated = {};
      Object.keys(before).forEach(function (k) { rated[k] = {stress: before[k]}; });
      if (Object.keys(rated).length) body.before = rated;
      api("POST", "/session", body).then(function () {
        toast("Session started.", true);
        before = {};
        document.querySelectorAll("#t-before [aria-pressed=true]").forEach(function (b) { b.setAttribute("aria-pressed", "false"); b.classList.remove("on"); });
      });
    });
    $("t-pause").addEventListener("click", function () {
      var s = state && state.session;
      api("POST", s && s.paused ? "/session/resume" : "/session/pause", {});
    });
    $("t-extend").addEventListener("click", function () { api("POST", "/session/extend", {minutes: 10}).then(function () { toast("10 minutes added.", true); }); });
    $("t-stop").addEventListener("click", function () { api("DELETE", "/session"); });
    $("all-off").addEventListener("click", function () { api("POST", "/all-off").then(function (s) { setState(s); toast("Everything is off.", true); }); });
    api("GET", "/state").then(setState);
    connect();
    setInterval(function () { if (state) showSession(); }, 1000);
  }

  start();
})();
