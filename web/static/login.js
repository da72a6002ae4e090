/* Login and first-run set-up: errors in words, a lockout that counts down, show password. */
(function () {
  "use strict";
  var form = document.getElementById("login-form");
  var msg = document.getElementById("message");
  var submit = document.getElementById("submit");
  var timer = null;
  var WORDS = {
    wrong_password: "That password is not right. Try again.",
    wrong_code: "That is not the setup code. Check the hub's log for it.",
    busy: "The hub is busy. Try again in a second."
  };
  document.querySelectorAll("input[type=password]").forEach(function (input) {
    var b = document.createElement("button");
    b.type = "button"; b.className = "btn show-pw"; b.textContent = "Show";
    b.setAttribute("aria-pressed", "false");
    b.setAttribute("aria-label", "Show password");
    b.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      b.setAttribute("aria-pressed", show ? "true" : "false");
      b.textContent = show ? "Hide" : "Show";
      input.focus();
    });
    var wrap = document.createElement("div");
    wrap.className = "pw-wrap";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input); wrap.appendChild(b);
  });
  function lockout(seconds) {
    clearInterval(timer);
    var until = Date.now() + seconds * 1000;
    submit.disabled = true;
    function paint() {
      var left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) { clearInterval(timer); submit.disabled = false; msg.textContent = "You can try again now."; return; }
      msg.textContent = "Too many wrong passwords. Try again in " + left + " s.";
    }
    paint();
    timer = setInterval(paint, 1000);
  }
  function words(body, status) {
    var e = (body && body.error) || {};
    if (WORDS[e.code]) return WORDS[e.code];
    var m = (e.message || "Error " + status).replace(/^[a-z_]+:\s*/i, "").replace(/\s*\(got .*$/, "");
    if (/setup code/.test(m)) return WORDS.wrong_code;
    m = m.charAt(0).toUpperCase() + m.slice(1);
    return /[.!?]$/.test(m) ? m : m + ".";
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var mode = form.dataset.mode;
    var pw = document.getElementById("password").value;
    var body = {password: pw};
    if (mode === "setup") {
      body.code = document.getElementById("code").value.trim();
      if (!body.code) { msg.textContent = "Enter the setup code first."; return; }
      if (pw.length < 8) { msg.textContent = "Use at least 8 characters."; return; }
      if (pw !== document.getElementById("repeat").value) { msg.textContent = "The two passwords differ."; return; }
    }
    submit.disabled = true;
    fetch("/api/v1/" + (mode === "setup" ? "setup" : "login"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (data) {
        if (r.ok) { location.replace("/#now"); return; }
        var wait = +(r.headers.get("Retry-After") || 0);
        if (r.status === 429 && wait > 0) { lockout(wait); return; }
        msg.textContent = words(data, r.status);
        submit.disabled = false;
      });
    }).catch(function () {
      msg.textContent = "The hub does not answer. Check that it is on and try again.";
      submit.disabled = false;
    });
  });
})();
