/* massage-hub service worker (served as /sw.js by web/assets.py): the app opens without
 * the hub. Assets (hashed names) come from the cache first; the shell page from the
 * network first, else its last good copy, which then says the hub is not answering.
 * The API and the event stream are never cached. */
"use strict";
var ASSETS = "__ASSETS__".split(" ");
var CACHE = "massage-hub-" + ASSETS.join("").replace(/[^a-z0-9]/gi, "").slice(-24);

self.addEventListener("install", function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(ASSETS); }).then(function () { return self.skipWaiting(); }));
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
    }, function () { return caches.match("/"); }));
  }
});
