/*
 * The ward board and wall screen: freshness you can trust, and a wall that turns its pages.
 * Loaded with defer after htmx, its SSE extension and app.js, on those two pages only.
 * Works under the strict Content Security Policy (no inline script, text via textContent).
 *
 * - Freshness: the live stream (/wards/<code>/events) sends a `heartbeat` event every 4 s
 *   (app/web/sse.py). When nothing has been heard for 10 s (data-stale-after-seconds on
 *   #live-status) the board says so in #live-status (role=status) and greys; when the stream
 *   is back it says so, and the rows are fetched again (the `board-resync` event on <body>),
 *   since changes made meanwhile were missed.
 * - "Changed 5 min ago" on each bed ([data-changed-at]) counts on between refreshes.
 * - The wall screen (.app-wall): when not every bed fits the window, it shows a page at a time,
 *   turning every 15 s, with "Page 1 of 2" on screen.
 */
(function () {
  "use strict";

  var live = document.querySelector("[data-live-board]");
  var status = document.getElementById("live-status");
  if (!live || !status) {
    return;
  }

  var STALE_AFTER_MS = Number(status.getAttribute("data-stale-after-seconds") || "10") * 1000;
  var BACK_MESSAGE_MS = 15000;
  var PAGE_TURN_MS = 15000;

  var clock = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/London", hour: "2-digit", minute: "2-digit", second: "2-digit"
  });

  /* -------------------------------------------------------------------------------- */
  /* Freshness                                                                         */
  /* -------------------------------------------------------------------------------- */

  var lastHeard = Date.now();
  var stale = false;
  var backTimer = null;

  function say(message, back) {
    status.classList.toggle("app-live-status--back", Boolean(back));
    status.textContent = message;
  }

  function goStale() {
    stale = true;
    live.classList.add("app-board-live--stale");
    live.setAttribute("data-live", "stale");
    window.clearTimeout(backTimer);
    say("Not live: nothing heard from Boardround since " + clock.format(new Date(lastHeard)) +
      ". This board may be out of date; it will update itself when the connection is back.", false);
  }

  function heard() {
    lastHeard = Date.now();
    if (!stale) {
      return;
    }
    stale = false;
    live.classList.remove("app-board-live--stale");
    live.setAttribute("data-live", "live");
    say("Live again at " + clock.format(new Date(lastHeard)) + ": the board has been brought up to date.", true);
    document.body.dispatchEvent(new CustomEvent("board-resync"));
    window.clearTimeout(backTimer);
    backTimer = window.setTimeout(function () {
      say("", false);
    }, BACK_MESSAGE_MS);
  }

  live.setAttribute("data-live", "live");

  // The SSE extension announces each EventSource it opens (again after a reconnect).
  var watched = new WeakSet();
  // Only the board's own stream counts (other streams on the page, such as a header's, do not).
  document.addEventListener("htmx:sseOpen", function (event) {
    if (event.target !== live) {
      return;
    }
    var source = event.detail && event.detail.source;
    if (source && !watched.has(source)) {
      watched.add(source);
      source.addEventListener("heartbeat", heard);
      source.addEventListener("board-changed", heard);
    }
    heard();
  });

  window.setInterval(function () {
    if (!stale && Date.now() - lastHeard > STALE_AFTER_MS) {
      goStale();
    }
  }, 1000);

  /* -------------------------------------------------------------------------------- */
  /* "Changed 5 min ago" (the same words as app/wards/presenters.py changed_ago)        */
  /* -------------------------------------------------------------------------------- */

  function ago(moment) {
    var seconds = Math.max(0, Math.floor((Date.now() - moment) / 1000));
    if (seconds < 60) {
      return "just now";
    }
    if (seconds < 3600) {
      return Math.floor(seconds / 60) + " min ago";
    }
    if (seconds < 48 * 3600) {
      return Math.floor(seconds / 3600) + " h ago";
    }
    return Math.floor(seconds / 86400) + " days ago";
  }

  function refreshAgo() {
    var times = document.querySelectorAll("[data-changed-at]");
    for (var i = 0; i < times.length; i += 1) {
      var moment = Date.parse(times[i].getAttribute("datetime"));
      if (!isNaN(moment)) {
        var text = ago(moment);
        if (times[i].textContent !== text) {
          times[i].textContent = text;
        }
      }
    }
  }

  window.setInterval(refreshAgo, 30000);

  /* -------------------------------------------------------------------------------- */
  /* The wall screen's pages                                                           */
  /* -------------------------------------------------------------------------------- */

  var page = 0;

  function paginate() {
    var wall = document.querySelector(".app-wall");
    var pager = document.querySelector("[data-wall-pager]");
    if (!wall || !pager) {
      return;
    }
    var cards = Array.prototype.slice.call(wall.children);
    for (var i = 0; i < cards.length; i += 1) {
      cards[i].removeAttribute("data-off-page");
    }
    pager.hidden = true;
    var bottom = function (card) {
      return card.getBoundingClientRect().bottom + window.scrollY;
    };
    // Every bed fits, with the "Updated" line under them: no pages.
    if (!cards.length || bottom(cards[cards.length - 1]) <= window.innerHeight - 28) {
      page = 0;
      return;
    }
    // Otherwise leave room under the cards for the page indicator as well.
    var limit = window.innerHeight - 72;
    var fit = 0;
    for (var j = 0; j < cards.length; j += 1) {
      if (bottom(cards[j]) <= limit) {
        fit += 1;
      }
    }
    if (fit >= cards.length || fit === 0) {
      page = 0;
      return;
    }
    var pages = Math.ceil(cards.length / fit);
    page = page % pages;
    var first = page * fit;
    var last = Math.min(cards.length, first + fit);
    for (var k = 0; k < cards.length; k += 1) {
      if (k < first || k >= last) {
        cards[k].setAttribute("data-off-page", "");
      }
    }
    pager.hidden = false;
    pager.textContent = "Page " + (page + 1) + " of " + pages + ": beds " + (first + 1) + " to " + last +
      " of " + cards.length + ". Turns every " + PAGE_TURN_MS / 1000 + " seconds.";
    pager.setAttribute("data-page", String(page + 1));
    pager.setAttribute("data-pages", String(pages));
  }

  if (document.querySelector(".app-wall")) {
    paginate();
    window.setInterval(function () {
      page += 1;
      paginate();
    }, PAGE_TURN_MS);
    window.addEventListener("resize", function () {
      paginate();
    });
    document.addEventListener("htmx:afterSettle", function () {
      paginate();
    });
  }
})();
