package ui

// appWorkerJS is the console's service worker, go-app's with three changes.
// Pages come from the network first: the server decides whether the
// visitor is signed in, and sends the signed-out to sign-in without
// loading the app; only when the server cannot be reached does the page
// cached at install load (and show the last view the browser saved). And
// a new worker takes over the open consoles at once. A click on an alert
// notification (the console shows them through this worker's
// registration) brings the console forward. Everything else the
// page loads is served from the cache of its version first, as go-app's
// worker does; the API, the feed and sign-in never are.
const appWorkerJS = `const cacheName = "app-" + "{{.Version}}";
const resourcesToCache = {{.ResourcesToCache}};

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(cacheName)
      .then((cache) => cache.addAll(resourcesToCache))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(keys.filter((key) => key !== cacheName).map((key) => caches.delete(key)))
      )
      .then(() => self.clients.claim())
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(
    self.clients
      .matchAll({ type: "window", includeUncontrolled: true })
      .then((list) => (list.length ? list[0].focus() : self.clients.openWindow("/")))
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(() =>
        caches.match("/").then((page) => page || Response.error())
      )
    );
    return;
  }
  if (/^\/(api|auth|idp)\//.test(url.pathname)) {
    return;
  }
  event.respondWith(
    caches.match(request).then((response) => response || fetch(request))
  );
});
`
