/* People, as the Now page needs them (in the first bundle): the body outline, the "Who is on
 * the table?" picker and whose limits hold. The People page itself, who usually lies on the
 * table (Settings) and who a past session was for (History) are in people.js. The API is
 * /api/v1/profiles (web/profiles_api.py). */
(function () {
  "use strict";
  var h = MH.h, api = MH.api, toast = MH.toast;
  var SVG = "http://www.w3.org/2000/svg";
  var AREAS = ["head", "neck", "shoulders", "upper_back", "lower_back", "arms", "hands", "hips", "legs", "feet"];
  var AREA_LABEL = {head: "Head", neck: "Neck", shoulders: "Shoulders", upper_back: "Upper back", lower_back: "Lower back",
    arms: "Arms", hands: "Hands", hips: "Hips", legs: "Legs", feet: "Feet"};
  var HEAT_LABEL = {off: "no heat", low: "heat up to low", medium: "heat up to medium", high: "any heat"};
  var profiles = [], listeners = [];

  // a figure seen from behind, as it lies on the table: [area, shape, attributes]
  var OUTLINE = [
    ["head", "circle", {cx: 60, cy: 18, r: 13}],
    ["neck", "rect", {x: 54, y: 31, width: 12, height: 9, rx: 3}],
    ["shoulders", "rect", {x: 30, y: 40, width: 60, height: 12, rx: 6}],
    ["upper_back", "rect", {x: 38, y: 52, width: 44, height: 26, rx: 4}],
    ["lower_back", "rect", {x: 38, y: 78, width: 44, height: 20, rx: 4}],
    ["arms", "rect", {x: 18, y: 46, width: 11, height: 56, rx: 5}],
    ["arms", "rect", {x: 91, y: 46, width: 11, height: 56, rx: 5}],
    ["hands", "circle", {cx: 23, cy: 110, r: 7}],
    ["hands", "circle", {cx: 97, cy: 110, r: 7}],
    ["hips", "rect", {x: 36, y: 98, width: 48, height: 18, rx: 7}],
    ["legs", "rect", {x: 38, y: 116, width: 19, height: 64, rx: 7}],
    ["legs", "rect", {x: 63, y: 116, width: 19, height: 64, rx: 7}],
    ["feet", "rect", {x: 36, y: 182, width: 21, height: 10, rx: 4}],
    ["feet", "rect", {x: 63, y: 182, width: 21, height: 10, rx: 4}]
  ];

  /* A body outline with ``areas`` marked; with ``onchange`` a tap toggles an area. */
  function body(areas, onchange) {
    var marked = (areas || []).slice();
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 120 196");
    svg.setAttribute("class", "body-outline" + (onchange ? " editable" : ""));
    svg.setAttribute("role", "img");
    function paint() {
      svg.querySelectorAll("[data-area]").forEach(function (s) { s.classList.toggle("on", marked.indexOf(s.dataset.area) >= 0); });
      svg.setAttribute("aria-label", marked.length ? "Areas of concern: " + marked.map(function (a) { return AREA_LABEL[a]; }).join(", ") : "No areas of concern");
    }
    OUTLINE.forEach(function (o) {
      var s = document.createElementNS(SVG, o[1]);
      Object.keys(o[2]).forEach(function (k) { s.setAttribute(k, o[2][k]); });
      s.setAttribute("data-area", o[0]);
      var t = document.createElementNS(SVG, "title"); t.textContent = AREA_LABEL[o[0]]; s.appendChild(t);
      if (onchange) {
        s.addEventListener("click", function () {
          var i = marked.indexOf(o[0]);
          if (i >= 0) marked.splice(i, 1); else marked.push(o[0]);
          paint(); onchange(marked.slice());
        });
      }
      svg.appendChild(s);
    });
    paint();
    svg.areas = function () { return marked.slice(); };
    return svg;
  }

  /* Area chips that toggle, for a phone where the outline is small. */
  function areaChips(areas, onchange) {
    var marked = (areas || []).slice();
    var el = h("div", {class: "chips area-chips"});
    AREAS.forEach(function (a) {
      el.appendChild(h("button", {class: "chip small" + (marked.indexOf(a) >= 0 ? " on" : ""), type: "button", "data-area": a, text: AREA_LABEL[a],
        onclick: function (e) {
          var i = marked.indexOf(a);
          if (i >= 0) marked.splice(i, 1); else marked.push(a);
          e.currentTarget.classList.toggle("on", i < 0);
          onchange(marked.slice());
        }}));
    });
    return el;
  }

  function limitsWords(p) {
    var out = [HEAT_LABEL[p.heat_max], "volume up to " + p.volume_max];
    if (!p.aroma) out.push("no aroma");
    return out.join(" · ");
  }

  // the first time, the profiles the page was made with; after that, asked again
  var inPage = document.getElementById("profiles-data");
  function load() {
    var asked = inPage ? Promise.resolve({profiles: JSON.parse(inPage.textContent)}) : api("GET", "/profiles");
    inPage = null;
    return asked.then(function (d) {
      profiles = d.profiles;
      listeners.forEach(function (f) { f(profiles); });
      return profiles;
    });
  }

  // --- the picker on the Now page ----------------------------------------------------------

  /* "Who is on the table?": pick people; with two pads, pick who lies on which. It is the
   * room's own fact (PUT /table): every output, from any client, keeps to their limits. */
  function picker() {
    var chosen = [], byPad = {}, touched = 0, seen = null, source = null, words = null;
    var el = h("div", {class: "who", "data-testid": "who-picker"});
    var chips = h("div", {class: "chips"});
    var pads = h("div", {class: "who-pads"});
    var said = h("p", {class: "muted who-source", "data-testid": "who-source", "aria-live": "polite"});
    var notes = h("div", {class: "who-notes", "data-testid": "who-notes"});
    el.appendChild(h("h3", {text: "Who is on the table?"}));
    el.appendChild(chips); el.appendChild(pads); el.appendChild(said); el.appendChild(notes);
    function padIds() {
      var st = MH.state();
      if (!st) return [];
      return Object.keys(st.devices).filter(function (k) { return st.devices[k].kind === "heat_pad"; });
    }
    function spec() {
      if (!chosen.length) return [];
      var pairs = Object.keys(byPad).filter(function (k) { return chosen.indexOf(byPad[k]) >= 0; });
      var placed = pairs.map(function (k) { return byPad[k]; });
      if (pairs.length && new Set(placed).size === pairs.length && chosen.every(function (pid) { return placed.indexOf(pid) >= 0; })) {
        var map = {};
        pairs.forEach(function (k) { map[k] = byPad[k]; });
        return map;
      }
      return chosen.slice();
    }
    function send() {
      touched = Date.now();
      api("PUT", "/table", {people: spec()}).then(function (t) { sync(t, true); }, function () {});
    }
    function sync(table, mine) {
      if (!table) return;
      var key = JSON.stringify([table.people, table.source, table.limits_words]);
      source = table.source; words = table.limits_words;
      if (mine || key === seen || Date.now() - touched < 1500) {  // ours, or a tap on its way
        if (mine) seen = key;
        paintSaid();
        return;
      }
      seen = key;  // another phone, Home Assistant or a routine changed it
      var fromRoom = table.source === "room" || table.source === "link";
      chosen = fromRoom ? table.people.map(function (p) { return p.profile; }).filter(function (x, i, a) { return a.indexOf(x) === i; }) : [];
      byPad = {};
      if (fromRoom) table.people.forEach(function (p) { if (p.pad) byPad[p.pad] = p.profile; });
      render();
    }
    function paintSaid() {
      said.textContent = chosen.length ? (words ? "Limits in force: " + words + "." : "")
        : source === "default" ? "Nobody picked: the household's usual people hold (" + (words || "no limits") + ")."
        : "Nobody picked: only the room's own limits hold.";
    }
    function render() {
      chips.textContent = "";
      if (!profiles.length) {
        chips.appendChild(h("p", {class: "muted", text: "No profiles yet: add people on the People page, so the hub keeps to their limits."}));
      }
      profiles.forEach(function (p) {
        chips.appendChild(h("button", {class: "chip" + (chosen.indexOf(p.id) >= 0 ? " on" : ""), type: "button", "data-profile": p.id, text: p.name,
          "aria-pressed": chosen.indexOf(p.id) >= 0 ? "true" : "false",
          onclick: function () {
            var i = chosen.indexOf(p.id);
            if (i >= 0) chosen.splice(i, 1); else chosen.push(p.id);
            Object.keys(byPad).forEach(function (k) { if (chosen.indexOf(byPad[k]) < 0) delete byPad[k]; });
            render(); send();
          }}));
      });
      pads.textContent = ""; notes.textContent = "";
      var ids = padIds();
      if (chosen.length > 1 && ids.length > 1) {
        ids.forEach(function (pad) {
          var sel = h("select", {"data-pad": pad, onchange: function () {
              if (sel.value) byPad[pad] = sel.value; else delete byPad[pad];
              send();
            }},
            h("option", {value: "", text: "anyone (strictest limits)"}),
            chosen.map(function (pid) {
              var p = find(pid);
              var o = h("option", {value: pid, text: p ? p.name : pid});
              if (byPad[pad] === pid) o.selected = true;
              return o;
            }));
          var name = (MH.state().devices[pad] || {}).name || pad;
          pads.appendChild(h("label", null, "On " + name, sel));
        });
      }
      paintSaid();
      chosen.forEach(function (pid) {
        var p = find(pid);
        if (!p) return;
        notes.appendChild(h("div", {class: "who-note"}, body(p.areas),
          h("div", null, h("strong", {text: p.name}), h("div", {class: "muted", text: limitsWords(p)}),
            p.notes ? h("div", {class: "note-text", text: p.notes}) : null)));
      });
      if (el.onpick) el.onpick();  // the start form asks them how they feel (ask.js)
    }
    function find(pid) { return profiles.filter(function (p) { return p.id === pid; })[0]; }
    listeners.push(function () { chosen = chosen.filter(find); render(); });
    el.value = function () { return chosen.length ? spec() : null; };
    el.people = function () { return chosen.map(find).filter(Boolean); };
    el.update = function (st) { sync(st.table, false); };
    el.refresh = render;
    render();
    load();
    return el;
  }

  /* Who is on the table and the limits holding now, in words (Now and Room pages). */
  function limits() {
    var el = h("div", {class: "limits-box", hidden: true, "data-testid": "session-limits"});
    el.update = function (st) {
      var sess = st.session, table = st.table || {}, people = (sess && sess.people && sess.people.length) ? sess.people : (table.people || []);
      el.textContent = "";
      if (!people.length) { el.hidden = true; return; }
      el.hidden = false;
      el.appendChild(h("div", {class: "muted", text: "For " + people.map(function (p) {
        var pad = p.pad && st.devices[p.pad] ? " (" + st.devices[p.pad].name + ")" : "";
        return p.name + pad;
      }).join(", ")}));
      if (table.limits_words) el.appendChild(h("div", {class: "limit-words", "data-testid": "limits-words", text: "Limits: " + table.limits_words}));
      Object.keys(st.devices).forEach(function (k) {
        if (st.devices[k].limit) el.appendChild(h("div", {class: "limit-note", "data-device": k, text: st.devices[k].limit}));
      });
    };
    return el;
  }

  // profiles may change on another phone: the picker reloads them each time Now opens, and
  // every open page reloads them when the hub says people changed or a backup was restored
  window.addEventListener("hashchange", function () { if ((location.hash || "#now") === "#now" && listeners.length) load(); });
  MH.onState(function (st, type) {
    if ((type === "people" || type === "scenes") && listeners.length) {
      clearTimeout(load.soon);
      load.soon = setTimeout(function () { load().catch(function () {}); }, 200);
    }
  });

  /* The "profiles" of a new session for these people (from a history row): by pad if known. */
  function spec(people) {
    if (people.every(function (p) { return p.pad; })) {
      var map = {};
      people.forEach(function (p) { map[p.pad] = p.profile; });
      return map;
    }
    return people.map(function (p) { return p.profile; });
  }

  MH.people = {picker: picker, limits: limits, spec: spec, body: body, areaChips: areaChips, AREAS: AREAS, AREA_LABEL: AREA_LABEL,
    limitsWords: limitsWords, listen: function (f) { listeners.push(f); }, profiles: function () { return profiles; }, load: load};
})();
