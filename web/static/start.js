MH.start();
// the service worker keeps the app for when the hub is away (browsers allow it on https and localhost)
if ("serviceWorker" in navigator && window.isSecureContext) navigator.serviceWorker.register("/sw.js").catch(function () {});
