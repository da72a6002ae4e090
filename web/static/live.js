/* What the room is doing, in words and as a picture: MH.describe(device) and MH.vroom().
 * Countdowns (a pad's auto-off, its cool-down) count on from the state's numbers, so they
 * match the hub's /api/v1/state between events. */
(function () {
  "use strict";
  var h = MH.h, clock = MH.clock;
  function pct(level) { return Math.round(level * 100) + " %"; }
  // a pad sensor's reading (null: it gives nothing good just now)
  function celsius(c) { return c === null ? "no reading" : c.toFixed(1) + " °C"; }
  function describe(d) {
    if (d.kind === "light") return d.level > 0 ? pct(d.level) : "Off";
    if (d.kind === "diffuser") {
      if (d.mode === "interval") return d.on ? "Interval · misting" : "Interval · resting";
      return d.mode === "on" ? "On" : "Off";
    }
    if (d.kind === "heat_pad") {
      // a pad with a sensor says how warm it is, and holds a temperature rather than a level
      var sensed = d.temperature !== undefined, t = sensed ? celsius(d.temperature) + " · " : "";
      if (d.fault) return t + "off until checked";
      var lock = MH.left(d.locked_for_seconds);
      if (lock) return t + "cooling down · " + clock(lock);
      if (d.heat === "off") return sensed ? t + "off" : "Off";
      var off = MH.left(d.off_in_seconds), to = d.target_celsius;
      var doing = !sensed || !to ? d.heat.charAt(0).toUpperCase() + d.heat.slice(1)
        : d.temperature === null || d.temperature_fresh === false
          ? "no heat until it reads again"  // the hub keeps the relay open
        : (d.warming ? "warming to " : "holding ") + to + " °C";
      return t + doing + (off !== null ? " · off in " + clock(off) : "");
    }
    if (d.kind === "speaker") return d.playing ? "Playing " + (d.playlist || "") + " · volume " + Math.round(d.volume) : "Quiet";
    return "";
  }

  function vroom() {
    var glows = [h("div", {class: "glow g0"}), h("div", {class: "glow g1"})];
    var table = h("div", {class: "table"});
    var mist = h("div", {class: "mist"}, h("i"), h("i"), h("i"));
    var notes = h("div", {class: "notes", text: "♪ ♫"});
    var el = h("div", {class: "vroom", role: "img", "aria-label": "Virtual room", "data-testid": "vroom"},
      glows, h("div", {class: "diff"}), mist, table, notes, h("div", {class: "label", "aria-hidden": "true", text: "virtual room"}));
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
      var misting = !!(diff && diff.on);
      mist.classList.toggle("on", misting); el.dataset.mist = misting ? "on" : "off";
      var music = !!(spk && spk.playing);
      notes.classList.toggle("on", music); el.dataset.music = music ? "on" : "off";
      el.setAttribute("aria-label", "Virtual room: light " + (lights.length ? pct(lights[0].level) : "none") +
        ", heat " + (warm ? "on" : "off") + ", mist " + (misting ? "on" : "off") + ", music " + (music ? "on" : "off"));
    };
    return el;
  }
  // what a routine does, in words (the Now page and the Routines page)
  function routineWords(a) {
    var pct = function (x) { return Math.round(x * 100); };
    if (a.kind === "wind_down") {
      return "Wind-down " + pct(a.light_from) + " % → " + pct(a.light_to) + " % over " + a.minutes + " min" +
        (a.playlist ? ", " + a.playlist : "") + (a.diffuser_minutes ? ", mist " + a.diffuser_minutes + " min" : "");
    }
    if (a.kind === "scene") return "Scene " + a.scene + " for " + a.minutes + " min";
    return "Session" + (a.scene ? " " + a.scene : "") + (a.minutes ? ", " + a.minutes + " min" : "");
  }

  // the pads with a sensor, each "Table pad 38.2 °C", for a small line beside the session
  function padTemps(st) {
    return Object.keys(st.devices).map(function (k) { return st.devices[k]; }).filter(function (d) {
      return d.kind === "heat_pad" && d.temperature !== undefined;
    }).map(function (d) { return d.name + " " + celsius(d.temperature); }).join(" · ");
  }

  MH.describe = describe;
  MH.padTemps = padTemps;
  MH.celsius = celsius;
  MH.routineWords = routineWords;
  MH.vroom = vroom;
})();
