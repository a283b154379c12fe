/*
 * Boardround service worker.
 *
 * - Static assets (/static/…, content-hashed URLs): cache first.
 * - Ward boards (/wards/<code> and its rows): network first; the last good copy is kept so
 *   the board still opens read-only when the Wi-Fi drops. app.js shows the offline banner.
 * - Everything else: network only; a page that cannot load offline gets /static/offline.html.
 * - Writes (POST…) are never queued or replayed: they fail visibly and the form keeps
 *   what was typed (see app.js), so nothing is lost silently.
 * - Signing out clears the cached boards: patient names must not outlive the session on a
 *   shared tablet.
 */
"use strict";

var STATIC_CACHE = "boardround-static-v1";
var BOARD_CACHE = "boardround-boards-v1";
var OFFLINE_PAGE = "/static/offline.html";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC_CACHE).then(function (cache) {
      return cache.add(OFFLINE_PAGE);
    }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name !== STATIC_CACHE && name !== BOARD_CACHE;
      }).map(function (name) {
        return caches.delete(name);
      }));
    }).then(function () {
      return self.clients.claim();
    })
  );
});

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "clear-boards") {
    event.waitUntil(caches.delete(BOARD_CACHE));
  }
});

function isBoardPage(url) {
  return /^\/wards\/[^/]+$/.test(url.pathname);
}

function isBoardRows(url) {
  return /^\/wards\/[^/]+\/rows$/.test(url.pathname);
}

function cacheFirst(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) {
          cache.put(request, response.clone());
        }
        return response;
      });
    });
  });
}

function networkFirstBoard(request) {
  return fetch(request).then(function (response) {
    // Only a real board (not a redirect to sign in, not an error page) replaces the copy.
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(BOARD_CACHE).then(function (cache) {
        cache.put(request, copy);
      });
    }
    return response;
  }).catch(function () {
    return caches.open(BOARD_CACHE).then(function (cache) {
      return cache.match(request, { ignoreVary: true });
    }).then(function (hit) {
      return hit || caches.match(OFFLINE_PAGE);
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") {
    return; // writes go straight to the network, and fail visibly when offline
  }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.endsWith("/events")) {
    return;
  }
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(cacheFirst(request));
  } else if ((isBoardPage(url) && request.mode === "navigate") || isBoardRows(url)) {
    event.respondWith(networkFirstBoard(request));
  } else if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () {
      return caches.match(OFFLINE_PAGE);
    }));
  }
});
