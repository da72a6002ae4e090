/* massage-hub web UI core: plain JS, no build step. Each page lives in its own script and
 * registers with MH.page(id, {...}) before start.js runs MH.start():
 *   mount(el)       build the page's DOM once (el is its <section>)
 *   update(state, type)  show a new hub state (every SSE event while the page is visible;
 *                   type is the event's type: "session", "routines", "hello"...)
 *   tick(state)     optional: once a second (count down from the state's times)
 *   show()          optional: each time the page is opened
 *   scenes(list)    optional: the scene list changed
 * Helpers for pages (new pages use these, so they look and behave alike):
 *   MH.h(tag, attrs, ...children)         make an element (attrs: text, class, on<event>, ...)
 *   MH.api(method, path, body, opts)      call /api/v1; opts.form: mark the failing field
 *                                         (an element with data-field="<api field>") and show
 *                                         the error in words next to it; opts.words: {field or
 *                                         code: text}; errors with no field go to a toast
 *   MH.clearErrors(form)                  remove field errors from a form
 *   MH.field(label, input, name)          a labelled input whose errors show under it
 *   MH.toast(text, ok)                    a short notice above the tab bar
 *   MH.press(button, on)                  show a toggle's state (aria-pressed + look)
 *   MH.clock(seconds)                     "4:59", "1:02:03"
 *   MH.fmt.time(iso) / date(iso) / when(iso) / hour(iso) / relative(iso, nowIso)
 *                                         in the hub's time zone, the phone's 12/24 h
 *                                         (hour: 0-23; relative: "tonight at 9:30 PM")
 *   MH.fmt.energy(kwh, cost, currency)    "0.12 kWh · €0.04" ("" when kwh is null)
 *   MH.reason(code)                       a session's end reason in words
 *   MH.online()                           false while the hub does not answer
 *   MH.extend(where, x)                   add to another page: "settings" (x: fn(el), or
 *                                         {mount(el), show()}), "sceneEditor" (x: fn(editor,
 *                                         scene) returning fn(body) that adds its fields) */
var MH = (function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  // choices the hub knows (heat levels, diffuser modes) and its time zone, from web/pages.py
  var factsEl = document.getElementById("facts");
  var facts = factsEl ? JSON.parse(factsEl.textContent) : {heat_levels: [], diffuser_modes: []};
  var pages = {}, mounted = {}, current = null;
  var state = null, stateAt = 0, scenes = [], es = null, lostAt = null;
  var scenesEl = document.getElementById("scenes-data");  // the scenes as the page was made
  if (scenesEl) scenes = JSON.parse(scenesEl.textContent);
  var scenesFresh = !!scenesEl;
  var online = true, lastHeard = Date.now(), heard = false, seen = null, listeners = [];
  var LOST_MS = 2500;  // the hub sends a ping every second

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
    toast.timer = setTimeout(function () { t.hidden = true; }, ok ? 2500 : 8000);
  }
  function hideToast() { document.getElementById("toast").hidden = true; }

  function press(btn, on) {
    btn.setAttribute("aria-pressed", on ? "true" : "false");
    btn.classList.toggle("on", !!on);
  }

  // --- errors in words ---------------------------------------------------------------------
  var CODE_WORDS = {
    rate_limited: "Too many tries. Wait a little and try again.",
    busy: "The hub is busy. Try again in a second.",
    csrf: "This page is out of date. Reload it and try again.",
    internal: "Something went wrong inside the hub. Its log says more.",
    unavailable: "That part of the hub is switched off in its settings."
  };
  // the API says "field: what is wrong (got ...)"; never show what was typed (a password)
  function splitError(data) {
    var e = (data && data.error) || {}, msg = e.message || "", field = e.field || null;
    var m = /^([a-z_][a-z0-9_.]*):\s*(.*)$/i.exec(msg);
    if (m && !/\s/.test(m[1])) { field = field || m[1]; msg = m[2]; }
    msg = msg.replace(/\s*\(got [^)]*\)\s*$/, "").replace(/\s*\(got .*$/, "");
    return {code: e.code || "", field: field, message: msg};
  }
  function words(err, custom) {
    custom = custom || {};
    var parts = err.field ? err.field.split(".") : [];
    var keys = [err.field, parts[parts.length - 1], parts[0]].filter(function (k) { return k && custom[k]; });
    if (keys.length) return custom[keys[0]];
    if (custom[err.code]) return custom[err.code];
    if (CODE_WORDS[err.code]) return CODE_WORDS[err.code];
    var msg = err.message.replace(/string should have at least 1 character/i, "this cannot be empty")
      .replace(/must be from 0 to 1\b/, "must be from 0 to 100 %")
      .replace(/^use HH:MM on the 24-hour clock$/i, "choose a time");
    msg = msg.charAt(0).toUpperCase() + msg.slice(1);
    return /[.!?]$/.test(msg) ? msg : msg + ".";
  }
  function clearErrors(form) {
    if (!form) return;
    form.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (e) { e.removeAttribute("aria-invalid"); e.removeAttribute("aria-describedby"); });
  }
  var errSeq = 0;
  function showFieldError(form, field, text) {
    var input = null, key = field;
    while (key && !input) {
      input = form.querySelector('[data-field="' + key + '"]');
      key = key.indexOf(".") > 0 ? key.slice(0, key.lastIndexOf(".")) : "";
    }
    if (!input) return false;
    var id = "err-" + (++errSeq);
    var p = h("p", {class: "field-error", id: id, role: "alert", text: text});
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
    (input.closest("label") || input).insertAdjacentElement("afterend", p);
    if (input.focus) input.focus();
    return true;
  }
  function field(label, input, name) {
    if (name) input.setAttribute("data-field", name);
    return h("label", null, label, input);
  }

  function api(method, path, body, opts) {
    opts = opts || {};
    clearErrors(opts.form);
    var req = {method: method, credentials: "same-origin", headers: {"X-CSRF-Token": csrf}};
    if (body !== undefined) {
      req.headers["Content-Type"] = "application/json";
      req.body = JSON.stringify(body);
    }
    return fetch("/api/v1" + path, req).then(function (r) {
      // signed out (a restore replaced the password, the login expired): the page leaves
      if (r.status === 401 && path !== "/password") { location.href = "/login"; return new Promise(function () {}); }
      if (r.status === 204) return null;
      return r.json().catch(function () { return null; }).then(function (data) {
        if (!r.ok) {
          var e = splitError(data), text = words(e, opts.words);
          if (!(opts.form && e.field && showFieldError(opts.form, e.field, text)) && !opts.quiet) toast(text);
          var err = new Error(text); err.status = r.status; err.body = data; err.field = e.field;
          throw err;
        }
        return data;
      });
    }, function (e) { if (!opts.quiet) toast("The hub does not answer."); throw e; });
  }

  // --- pages --------------------------------------------------------------------------------
  function page(id, def) { pages[id] = def; if (current === id) route(); }

  function route() {
    var id = (location.hash || "#now").slice(1) || "now";
    if (!document.getElementById("page-" + id)) id = "now";
    current = id;
    document.querySelectorAll(".page").forEach(function (s) { s.hidden = s.dataset.page !== id; });
    document.querySelectorAll(".tabs a").forEach(function (a) {
      var on = a.dataset.page === id;
      a.classList.toggle("on", on);
      if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
    window.scrollTo(0, 0);
    var def = pages[id];
    if (!def) { loadMore(); return; }  // it routes again when the page registers
    var el = document.getElementById("page-" + id);
    if (!mounted[id]) { mounted[id] = true; def.mount(el); }
    if (def.show) def.show();
    if (state && def.update) def.update(state);
  }

  function setState(s, type) {
    state = s; stateAt = Date.now();
    var def = pages[current];
    if (def && def.update && mounted[current]) def.update(s, type || "");
    listeners.forEach(function (fn) { fn(s, type || ""); });
  }

  function loadScenes() {
    return api("GET", "/scenes", undefined, {quiet: true}).then(function (d) {
      scenes = d.scenes;
      Object.keys(pages).forEach(function (k) { if (pages[k].scenes && mounted[k]) pages[k].scenes(scenes); });
    });
  }

  // --- the hub's connection: lost within 2.5 s, and what happened while away -----------------
  function setOnline(on) {
    if (on === online) return;
    online = on;
    lostAt = on ? null : Date.now();
    document.body.classList.toggle("offline", !on);
    document.getElementById("lost").hidden = on;
    var conn = document.getElementById("conn");
    conn.classList.toggle("live", on);
    conn.textContent = on ? "Live" : "Not answering";
    document.querySelectorAll("#view, .tabs").forEach(function (el) { el.inert = !on; });
    document.getElementById("all-off").disabled = !on;
    if (!on && es) { es.close(); es = null; setTimeout(connect, 1000); }
  }

  function onHello(s) {
    var before = seen;
    seen = s;
    if (!before) return;
    hideToast();
    var was = before.session;
    if (!was || (s.session && s.session.id === was.id)) return;
    if (s.interrupted_session && s.interrupted_session.id === was.id) return;  // the banner tells
    // the session we showed is gone: ask the history how it ended
    api("GET", "/history?limit=5", undefined, {quiet: true}).then(function (d) {
      var row = (d.sessions || []).filter(function (r) { return r.id === was.id; })[0];
      var why = row && row.end_reason;
      var text = why === "shutdown" ? "The hub restarted. Your " + was.scene_name + " session was stopped and everything switched off."
        : "While the hub did not answer, your " + was.scene_name + " session ended (" + reason(why || "stopped").toLowerCase() + ").";
      notice(text, was);
    });
  }
  function notice(text, was) {
    var n = document.getElementById("notice");
    n.textContent = "";
    n.appendChild(h("p", {text: text}));
    n.appendChild(h("div", {class: "row"},
      was ? h("button", {class: "btn primary", type: "button", id: "start-again", text: "Start again", onclick: function () {
        n.hidden = true;
        api("POST", "/session", {scene: was.scene, minutes: was.minutes}).then(function () { toast("Session started.", true); });
      }}) : null,
      h("button", {class: "btn", type: "button", text: "OK", onclick: function () { n.hidden = true; }})));
    n.hidden = false;
  }

  function connect() {
    if (es) return;
    heard = false;  // silence counts only once this stream has spoken (a slow start is not a loss)
    es = new EventSource("/api/v1/events");
    es.addEventListener("state", function (e) {
      lastHeard = Date.now(); heard = true;
      var ev = JSON.parse(e.data);
      setOnline(true);
      setState(ev.state, ev.type);
      if (ev.type === "hello") onHello(ev.state); else seen = ev.state;
      // on the first hello the page's own scene list is new enough; after a gap, ask again
      if (ev.type === "scenes" || (ev.type === "hello" && !scenesFresh)) loadScenes();
      scenesFresh = false;
    });
    es.addEventListener("ping", function () { lastHeard = Date.now(); heard = true; setOnline(true); });
    es.onerror = function () {
      if (!es || es.readyState !== 2) { setOnline(false); return; }
      es = null;  // closed for good: maybe logged out
      fetch("/api/v1/auth", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (a) {
        if (!a.authenticated) location.href = "/login"; else setTimeout(connect, 1000);
      }, function () { setOnline(false); setTimeout(connect, 1000); });
    };
  }

  function start() {
    document.getElementById("all-off").addEventListener("click", function () {
      api("POST", "/all-off").then(function (s) { setState(s); toast("Everything is off.", true); });
    });
    window.addEventListener("hashchange", route);
    route();
    connect();
    setInterval(function () {
      if (heard && Date.now() - lastHeard > LOST_MS) setOnline(false);
      var def = pages[current];
      if (def && def.tick && state && mounted[current]) def.tick(state);
    }, 500);
  }

  // --- words and numbers ---------------------------------------------------------------------
  function clock(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    var hh = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    return (hh ? hh + ":" + (m < 10 ? "0" : "") : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }
  var REASONS = {
    completed: "Finished", stopped: "Stopped early", all_off: "Switched off (All off)",
    shutdown: "Stopped: the hub was shut down", interrupted: "Interrupted: power cut or crash",
    control_loop_error: "Stopped by a fault in the hub", max_on: "Stopped: the pad reached its time limit"
  };
  function reason(code) {
    if (!code) return "Running";
    return REASONS[code] || (code.charAt(0).toUpperCase() + code.slice(1).replace(/_/g, " "));
  }
  function fmtWith(o) {
    return function (iso) {
      if (!iso) return "";
      var d = new Date(iso);
      if (isNaN(d)) return iso;
      var opts = Object.assign({}, o);
      if (facts.timezone) opts.timeZone = facts.timezone;
      try { return d.toLocaleString([], opts); } catch (e) { delete opts.timeZone; return d.toLocaleString([], opts); }
    };
  }
  var fmt = {
    time: fmtWith({hour: "numeric", minute: "2-digit"}),
    date: fmtWith({weekday: "short", day: "numeric", month: "short"}),
    hour: fmtWith({hour: "numeric", hourCycle: "h23"}),
    when: fmtWith({weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit"})
  };
  // "tonight at 9:30 PM", "tomorrow at 07:00", "on Friday at 9:30 PM", "on Tue, Dec 24 at ..."
  function dayNumber(iso) {  // days since 1970 of the date in the hub's time zone
    var o = {year: "numeric", month: "2-digit", day: "2-digit"}, d = new Date(iso), p;
    if (facts.timezone) o.timeZone = facts.timezone;
    try { p = d.toLocaleDateString("en-CA", o); } catch (e) { delete o.timeZone; p = d.toLocaleDateString("en-CA", o); }
    p = p.split("-");
    return Date.UTC(+p[0], +p[1] - 1, +p[2]) / 86400000;
  }
  function relative(iso, nowIso) {
    if (!iso) return "";
    var days = dayNumber(iso) - dayNumber(nowIso || new Date().toISOString()), at = " at " + fmt.time(iso);
    if (days === 0) return (+fmt.hour(iso) >= 17 ? "tonight" : "today") + at;
    if (days === 1) return "tomorrow" + at;
    if (days > 1 && days < 7) return "on " + fmtWith({weekday: "long"})(iso) + at;
    return "on " + fmt.date(iso) + at;
  }
  fmt.relative = relative;
  // a session's energy in plain words; nothing at all when no device has its watts
  function energy(kwh, cost, currency) {
    if (kwh === null || kwh === undefined) return "";
    var out = (kwh >= 0.1 ? kwh.toFixed(2) : kwh >= 0.001 ? kwh.toFixed(3) : kwh > 0 ? "under 0.001" : "0") + " kWh";
    if (cost === null || cost === undefined) return out;
    var c = currency || "";
    function money(v) { return c.length === 1 ? c + v : v + " " + c; }  // "€0.04", "0.04 SEK"
    return out + " · " + (cost > 0 && cost < 0.01 ? "under " + money("0.01") : money(cost.toFixed(2)));
  }
  fmt.energy = energy;
  // seconds left of a countdown the state carried, counted on since it arrived
  // while the hub does not answer, counting down would claim what nobody knows: time stops
  function since() { return ((lostAt || Date.now()) - stateAt) / 1000; }
  function left(seconds, frozen) { return seconds === null || seconds === undefined ? null : frozen ? seconds : Math.max(0, seconds - since()); }

  // the dim look (a phone remembers it); the Now page and Settings toggle it
  function setDim(on) {
    document.documentElement.classList.toggle("dim", on);
    document.querySelectorAll("#dim, #dim-now, [data-dim]").forEach(function (b) { press(b, on); });
    try { localStorage.setItem("mh.dim", on ? "1" : ""); } catch (e) { /* private mode */ }
  }
  try { if (localStorage.getItem("mh.dim")) document.documentElement.classList.add("dim"); } catch (e) { /* private mode */ }
  // the header's Dim: on every page, kept on this phone (login and therapist pages read it too)
  document.querySelectorAll("[data-dim]").forEach(function (b) {
    press(b, document.documentElement.classList.contains("dim"));
    b.addEventListener("click", function () { setDim(!document.documentElement.classList.contains("dim")); });
  });

  // pages not needed at first are in a second bundle, loaded when one of them is opened
  var more = document.querySelector('meta[name="more-js"]'), moreAsked = false;
  function loadMore() {
    if (moreAsked || !more) return;
    moreAsked = true;
    document.body.appendChild(h("script", {src: more.content}));
  }

  // other scripts add to a page: MH.extend("settings", fn(el) or {mount(el), show()}),
  // MH.extend("sceneEditor", fn(editor, scene) -> fn(body) that adds its fields)
  var extensions = {sceneEditor: [], settings: []};
  function extend(where, x) { extensions[where].push(x); }

  return {page: page, extend: extend, setDim: setDim, extensions: function (where) { return extensions[where]; },
    csrf: function () { return csrf; }, api: api, h: h, toast: toast, hideToast: hideToast, start: start, clock: clock, press: press, field: field,
    clearErrors: clearErrors, fieldError: showFieldError, fmt: fmt, reason: reason, left: left, facts: facts,
    online: function () { return online; }, onState: function (fn) { listeners.push(fn); },
    state: function () { return state; }, scenes: function () { return scenes; }, loadScenes: loadScenes,
    setState: setState, setCsrf: function (t) { csrf = t; }};
})();
