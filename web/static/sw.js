/* massage-hub service worker (served as /sw.js by web/assets.py): the app opens without
 * the hub. Assets (hashed names) come from the cache first; the shell page from the
 * network first, else its last good copy, which then says the hub is not answering.
 * The API and the event stream are never cached. */
"use strict";
var ASSETS = "__ASSETS__".split(" ");
var CACHE = "massage-hub-" + ASSETS.join("").replace(/[^a-z0-9]/gi, "").slice(-24);

// the app's own words when the hub is away and there is no copy of the page to show
var AWAY = '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
  '<meta name="color-scheme" content="dark"><title>Massage room</title><style>body{margin:0;min-height:100vh;display:flex;align-items:center;' +
  'justify-content:center;background:#14161c;color:#e8e4dc;font:16px/1.45 system-ui,sans-serif;text-align:center;padding:16px}' +
  'a{display:inline-block;margin-top:12px;min-height:44px;line-height:44px;padding:0 18px;border-radius:12px;background:#d9a66b;color:#1b140c;text-decoration:none}</style></head>' +
  '<body><main><h1>Massage room</h1><p id="away">The hub is not answering. Check that it is plugged in and on the same network as this phone, then try again.</p>' +
  '<a href="">Try again</a></main></body></html>';
function away() { return new Response(AWAY, {status: 503, headers: {"Content-Type": "text/html; charset=utf-8"}}); }
function keepShell(c) {  // the shell as this phone sees it now (logged in), for a reload while the hub is away
  return fetch("/", {credentials: "same-origin"}).then(function (r) {
    if (r.ok && !r.redirected) return c.put("/", r);
  }).catch(function () {});
}

self.addEventListener("install", function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(ASSETS).then(function () { return keepShell(c); }); })
    .then(function () { return self.skipWaiting(); }));
});
self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});
self.addEventListener("fetch", function (e) {
  var url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin || url.pathname.indexOf("/api/") === 0) return;
  if (url.pathname.indexOf("/assets/") === 0) {
    e.respondWith(caches.match(e.request).then(function (hit) { return hit || fetch(e.request); }));
  } else if (e.request.mode === "navigate" && url.pathname === "/") {
    e.respondWith(fetch(e.request).then(function (r) {
      if (r.ok && !r.redirected) { var copy = r.clone(); caches.open(CACHE).then(function (c) { c.put("/", copy); }); }
      return r;
    }, function () { return caches.match("/").then(function (hit) { return hit || away(); }); }));
  } else if (e.request.mode === "navigate") {  // login, a therapist's link: the network, else words
    e.respondWith(fetch(e.request).catch(away));
  }
});
